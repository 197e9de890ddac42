//! A fezz function in Zig: GET answers "hello from Zig at <path>"; any other method gets 405.
//! The C API comes from `zig translate-c` on fezz.h (module `fezz`). ./build.sh builds the
//! library hhrf loads, ./test.sh runs the tests below (`zig test`), ./deploy.sh installs it
//! (see README.md).

const std = @import("std");
const fezz = @import("fezz");

fn view(str: fezz.FezzStr) []const u8 {
    if (str.len == 0) return "";
    return @as([*]const u8, @ptrCast(str.data))[0..str.len];
}

/// The body for a request: the greeting for GET, else a refusal (the caller sends 405).
pub fn greeting(buffer: []u8, method: []const u8, path: []const u8) []const u8 {
    if (!std.mem.eql(u8, method, "GET")) return "only GET here\n";
    return std.fmt.bufPrint(buffer, "hello from Zig at {s}\n", .{path}) catch "hello from Zig\n";
}

fn respond(request: *const fezz.FezzRequest, out: [*c]fezz.FezzBuffer) fezz.FezzResult {
    const method = view(fezz.fezz_request_method(request));
    const path = view(fezz.fezz_request_path(request));
    const is_get = std.mem.eql(u8, method, "GET");
    // What a function writes to stderr goes to hhrf's log; `hhrf invoke` shows it.
    std.debug.print("handling {s} {s}\n", .{ method, path });

    var text_buffer: [512]u8 = undefined;
    const text = greeting(&text_buffer, method, path);

    var response: ?*fezz.FezzResponse = null;
    var result = fezz.fezz_response_new(if (is_get) 200 else 405, &response);
    if (result != fezz.FEZZ_RESULT_OK) return result;
    defer fezz.fezz_response_free(response);
    const content_type = "text/plain; charset=utf-8";
    result = fezz.fezz_response_add_header(response, "content-type", "content-type".len, content_type, content_type.len);
    if (result != fezz.FEZZ_RESULT_OK) return result;
    if (!is_get) {
        result = fezz.fezz_response_add_header(response, "allow", "allow".len, "GET", "GET".len);
        if (result != fezz.FEZZ_RESULT_OK) return result;
    }
    result = fezz.fezz_response_set_body(response, text.ptr, text.len);
    if (result != fezz.FEZZ_RESULT_OK) return result;
    return fezz.fezz_response_encode(response, out);
}

export fn fezz_handle_v2(request_bytes: [*c]const u8, request_len: usize, out: [*c]fezz.FezzBuffer) fezz.FezzResult {
    var request: ?*fezz.FezzRequest = null;
    const result = fezz.fezz_request_decode(request_bytes, request_len, &request);
    if (result != fezz.FEZZ_RESULT_OK) return result;
    defer fezz.fezz_request_free(request);
    return respond(request.?, out);
}

export fn fezz_abi_version() u32 {
    return fezz.FEZZ_ABI_VERSION;
}

export fn fezz_free_v2(buffer: fezz.FezzBuffer) void {
    fezz.fezz_buffer_free(buffer);
}

test "GET says hello with the path" {
    var buffer: [512]u8 = undefined;
    try std.testing.expectEqualStrings("hello from Zig at /hello/world\n", greeting(&buffer, "GET", "/hello/world"));
}

test "other methods are refused" {
    var buffer: [512]u8 = undefined;
    try std.testing.expectEqualStrings("only GET here\n", greeting(&buffer, "POST", "/"));
}
