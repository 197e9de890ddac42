//! A function written with the fezz Zig module, for abi/tests/zig.rs: it answers with headers
//! that report what it read through the wrapper, so Rust can check every accessor.
//!
//! - DELETE fails the call with `error.DeleteRefused`.
//! - POST /bad-header tries a header the C API refuses and answers 400 with the error's name.
//! - Anything else: 200, the request body echoed, and x-method, x-path, x-raw-query,
//!   x-query-name (the first `name`, decoded), x-tags (every x-tag, joined with `,`), x-accept
//!   and x-context (`id@version request-id deadline host scheme`, `-` for absent ones).

const std = @import("std");
const fezz = @import("fezz");

fn orDash(value: ?[]const u8) []const u8 {
    return value orelse "-";
}

fn handle(allocator: std.mem.Allocator, request: fezz.Request) !fezz.Response {
    if (request.isMethod("DELETE")) return error.DeleteRefused;
    if (request.isMethod("POST") and std.mem.eql(u8, request.path(), "/bad-header")) {
        var probe = try fezz.Response.init(allocator, 200);
        defer probe.deinit();
        probe.addHeader("bad name", "x") catch |err| {
            var refused = try fezz.Response.init(allocator, 400);
            errdefer refused.deinit();
            try refused.print("refused: {s}", .{@errorName(err)});
            return refused;
        };
        return error.HeaderWasAccepted;
    }

    var response = try fezz.Response.init(allocator, 200);
    errdefer response.deinit();
    try response.addHeader("x-method", request.method());
    try response.addHeader("x-path", request.path());
    try response.addHeader("x-raw-query", request.query() orelse "(none)");
    var pairs = request.queryIterator();
    const name = try pairs.findAlloc(allocator, "name");
    try response.addHeader("x-query-name", name orelse "(none)");

    var tags: std.ArrayList(u8) = .empty;
    var fields = request.headers("x-tag");
    while (fields.next()) |field| {
        if (tags.items.len > 0) try tags.append(allocator, ',');
        try tags.appendSlice(allocator, field.value);
    }
    try response.addHeader("x-tags", tags.items);
    try response.addHeader("x-accept", request.header("accept") orelse "(none)");

    const deadline = if (request.deadlineUnixMs()) |ms|
        try std.fmt.allocPrint(allocator, "{d}", .{ms})
    else
        "-";
    const context = try std.fmt.allocPrint(allocator, "{s}@{s} {s} {s} {s} {s}", .{
        request.functionId(),
        request.functionVersion(),
        request.requestId(),
        deadline,
        orDash(request.host()),
        orDash(request.scheme()),
    });
    try response.addHeader("x-context", context);
    try response.append(request.body());
    return response;
}

comptime {
    fezz.exportHandler(handle);
}
