//! hello.zig: the smallest useful fezz function in Zig. GET answers "hello from Zig at <path>";
//! any other method gets 405. The C API comes from `zig translate-c spec/fezz.h` (module
//! `fezz`). Build with ./build.sh (see README.md).

const std = @import("std");
const fezz = @import("fezz");

fn view(str: fezz.FezzStr) []const u8 {
    if (str.len == 0) return "";
    return @as([*]const u8, @ptrCast(str.data))[0..str.len];
}

fn respond(request: *const fezz.FezzRequest, out: [*c]fezz.FezzBuffer) fezz.FezzResult {
    const method = view(fezz.fezz_request_method(request));
    const path = view(fezz.fezz_request_path(request));
    const is_get = std.mem.eql(u8, method, "GET");

    var text_buffer: [512]u8 = undefined;
    const text = if (is_get)
        std.fmt.bufPrint(&text_buffer, "hello from Zig at {s}\n", .{path}) catch "hello from Zig\n"
    else
        "only GET here\n";

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
