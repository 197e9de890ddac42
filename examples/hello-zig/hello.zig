//! hello.zig: the smallest useful fezz function in Zig. GET answers "hello from Zig at <path>";
//! any other method gets 405 with `Allow: GET`. It uses the fezz Zig module (abi/zig), which
//! wraps the C API: no translate-c, no pointer and length pairs. Build with ./build.sh (see
//! README.md).

const std = @import("std");
const fezz = @import("fezz");

fn handle(allocator: std.mem.Allocator, request: fezz.Request) !fezz.Response {
    if (!request.isMethod("GET")) {
        var refused = try fezz.Response.text(allocator, 405, "only GET here\n");
        errdefer refused.deinit();
        try refused.addHeader("allow", "GET");
        return refused;
    }
    var response = try fezz.Response.init(allocator, 200);
    errdefer response.deinit();
    try response.addHeader("content-type", "text/plain; charset=utf-8");
    try response.print("hello from Zig at {s}\n", .{request.path()});
    return response;
}

comptime {
    fezz.exportHandler(handle);
}
