//! A fezz function in Zig: GET answers "hello from Zig at <path>"; any other method gets 405
//! with `Allow: GET`. It uses the fezz Zig module of the checkout (abi/zig: slices, error
//! unions, an allocator-aware response builder; no translate-c). ./build.sh builds the library
//! hhrf loads, ./test.sh runs the tests below (`zig test`), ./deploy.sh installs it (see
//! README.md).

const std = @import("std");
const fezz = @import("fezz");

/// The body for a request: the greeting for GET, else a refusal (the caller sends 405).
pub fn greeting(allocator: std.mem.Allocator, method: []const u8, path: []const u8) ![]u8 {
    if (!std.mem.eql(u8, method, "GET")) return allocator.dupe(u8, "only GET here\n");
    return std.fmt.allocPrint(allocator, "hello from Zig at {s}\n", .{path});
}

fn handle(allocator: std.mem.Allocator, request: fezz.Request) !fezz.Response {
    // What a function writes to stderr goes to hhrf's log; `hhrf invoke` shows it.
    std.debug.print("handling {s} {s}\n", .{ request.method(), request.path() });
    const is_get = request.isMethod("GET");
    var response = try fezz.Response.init(allocator, if (is_get) 200 else 405);
    errdefer response.deinit();
    try response.addHeader("content-type", "text/plain; charset=utf-8");
    if (!is_get) try response.addHeader("allow", "GET");
    const text = try greeting(allocator, request.method(), request.path());
    defer allocator.free(text);
    try response.print("{s}", .{text});
    return response;
}

comptime {
    fezz.exportHandler(handle);
}

test "GET says hello with the path" {
    const text = try greeting(std.testing.allocator, "GET", "/hello/world");
    defer std.testing.allocator.free(text);
    try std.testing.expectEqualStrings("hello from Zig at /hello/world\n", text);
}

test "other methods are refused" {
    const text = try greeting(std.testing.allocator, "POST", "/");
    defer std.testing.allocator.free(text);
    try std.testing.expectEqualStrings("only GET here\n", text);
}
