//! fezz for Zig: the C API of `spec/fezz.h` (imported here with `@cImport`, so an author never
//! runs `translate-c`) wrapped in idiomatic Zig: slices instead of pointer and length pairs,
//! optionals for absent fields, an error set for `FezzResult`, and a response builder that
//! takes an allocator.
//!
//! A whole function:
//!
//! ```zig
//! const std = @import("std");
//! const fezz = @import("fezz");
//!
//! fn handle(allocator: std.mem.Allocator, request: fezz.Request) !fezz.Response {
//!     var response = try fezz.Response.init(allocator, 200);
//!     errdefer response.deinit();
//!     try response.addHeader("content-type", "text/plain; charset=utf-8");
//!     try response.print("hello from Zig at {s}\n", .{request.path()});
//!     return response;
//! }
//!
//! comptime {
//!     fezz.exportHandler(handle); // fezz_abi_version, fezz_handle_v2, fezz_free_v2
//! }
//! ```
//!
//! Build it as a shared library that links libc, `libfezz_abi.a` and an unwinder (see
//! `abi/zig/README.md`; `build.zig` here exports this file as the module `fezz`).

const std = @import("std");

/// The raw C API, exactly as `spec/fezz.h` declares it, for anything the wrapper does not
/// cover.
pub const c = @cImport({
    @cInclude("fezz.h");
});

/// The ABI version of the header (what `fezz_abi_version` returns): 2.
pub const abi_version: u32 = c.FEZZ_ABI_VERSION;

/// Every failure a C call can report, one error per `FEZZ_RESULT_*` code (`Unknown` for a code
/// this header does not define).
pub const Error = error{
    /// FEZZ_RESULT_NULL_ARGUMENT: a required pointer was NULL (a bug in the wrapper's caller).
    NullArgument,
    /// FEZZ_RESULT_REQUEST_INVALID: the bytes are not a valid `fezz-request`.
    RequestInvalid,
    /// FEZZ_RESULT_FUNCTION_FAILED: the function failed without producing a response.
    FunctionFailed,
    /// FEZZ_RESULT_PANIC: a panic was caught at the ABI boundary.
    Panic,
    /// FEZZ_RESULT_INVALID_VALUE: a value the spec forbids (status outside 200..=599, a header
    /// name that is not an HTTP token, a control byte but HTAB in a header value, text not
    /// UTF-8).
    InvalidValue,
    /// FEZZ_RESULT_TOO_LARGE: past a limit of `spec/CBOR-PROFILE.md`.
    TooLarge,
    /// FEZZ_RESULT_OUT_OF_RANGE: an index past the end of a list.
    OutOfRange,
    /// A non-zero result this header does not know.
    Unknown,
};

/// `FEZZ_RESULT_OK` as nothing, any other result as its error.
pub fn check(result: c.FezzResult) Error!void {
    return switch (result) {
        c.FEZZ_RESULT_OK => {},
        c.FEZZ_RESULT_NULL_ARGUMENT => Error.NullArgument,
        c.FEZZ_RESULT_REQUEST_INVALID => Error.RequestInvalid,
        c.FEZZ_RESULT_FUNCTION_FAILED => Error.FunctionFailed,
        c.FEZZ_RESULT_PANIC => Error.Panic,
        c.FEZZ_RESULT_INVALID_VALUE => Error.InvalidValue,
        c.FEZZ_RESULT_TOO_LARGE => Error.TooLarge,
        c.FEZZ_RESULT_OUT_OF_RANGE => Error.OutOfRange,
        else => Error.Unknown,
    };
}

/// The `FEZZ_RESULT_*` code of an error (`Unknown` becomes FEZZ_RESULT_FUNCTION_FAILED).
pub fn resultCode(err: Error) c.FezzResult {
    return switch (err) {
        Error.NullArgument => c.FEZZ_RESULT_NULL_ARGUMENT,
        Error.RequestInvalid => c.FEZZ_RESULT_REQUEST_INVALID,
        Error.FunctionFailed, Error.Unknown => c.FEZZ_RESULT_FUNCTION_FAILED,
        Error.Panic => c.FEZZ_RESULT_PANIC,
        Error.InvalidValue => c.FEZZ_RESULT_INVALID_VALUE,
        Error.TooLarge => c.FEZZ_RESULT_TOO_LARGE,
        Error.OutOfRange => c.FEZZ_RESULT_OUT_OF_RANGE,
    };
}

fn str(value: c.FezzStr) []const u8 {
    if (value.len == 0) return "";
    return value.data[0..value.len];
}

fn bytes(value: c.FezzBytes) []const u8 {
    if (value.len == 0) return "";
    return value.data[0..value.len];
}

/// One header field: the name (text) and the value (bytes, exactly as received).
pub const Header = struct {
    name: []const u8,
    value: []const u8,
};

/// A decoded request. Every slice it gives borrows from it and is valid until `deinit`.
pub const Request = struct {
    raw: *c.FezzRequest,

    /// Decodes `encoded` (one `fezz-request`, as `fezz_handle_v2` receives it). The request
    /// owns copies of what it holds; `encoded` may be freed afterwards.
    pub fn decode(encoded: []const u8) Error!Request {
        var raw: ?*c.FezzRequest = null;
        try check(c.fezz_request_decode(encoded.ptr, encoded.len, &raw));
        return .{ .raw = raw orelse return Error.NullArgument };
    }

    /// Releases the request and everything read from it.
    pub fn deinit(self: Request) void {
        c.fezz_request_free(self.raw);
    }

    /// The method, e.g. `GET` (case-sensitive, as in HTTP).
    pub fn method(self: Request) []const u8 {
        return str(c.fezz_request_method(self.raw));
    }

    /// Whether the method is `expected` (compared exactly: methods are case-sensitive).
    pub fn isMethod(self: Request, expected: []const u8) bool {
        return std.mem.eql(u8, self.method(), expected);
    }

    /// The path as received, percent-encoding preserved: starts with `/`, or is `*`.
    pub fn path(self: Request) []const u8 {
        return str(c.fezz_request_path(self.raw));
    }

    /// The raw query after `?` (without it): `null` when the target had no `?`, `""` for
    /// `/path?`. Read it with `QueryIterator`.
    pub fn query(self: Request) ?[]const u8 {
        var out: c.FezzStr = undefined;
        if (!c.fezz_request_query(self.raw, &out)) return null;
        return str(out);
    }

    /// The query's `name=value` pairs, raw (see `QueryIterator`); none without a query.
    pub fn queryIterator(self: Request) QueryIterator {
        return QueryIterator.init(self.query() orelse "");
    }

    /// The body (empty if there is none).
    pub fn body(self: Request) []const u8 {
        return bytes(c.fezz_request_body(self.raw));
    }

    /// The number of header fields.
    pub fn headerCount(self: Request) usize {
        return c.fezz_request_header_count(self.raw);
    }

    /// The header field at `index` in received order, or `null` past the end.
    pub fn headerAt(self: Request, index: usize) ?Header {
        var name: c.FezzStr = undefined;
        var value: c.FezzBytes = undefined;
        check(c.fezz_request_header_at(self.raw, index, &name, &value)) catch return null;
        return .{ .name = str(name), .value = bytes(value) };
    }

    /// The value of the first header named `name` (ASCII case-insensitive), or `null`.
    pub fn header(self: Request, name: []const u8) ?[]const u8 {
        var value: c.FezzBytes = undefined;
        if (!c.fezz_request_header_find(self.raw, name.ptr, name.len, &value)) return null;
        return bytes(value);
    }

    /// Every header field in received order (repeated names are separate fields). With
    /// `name`, only the fields of that name (ASCII case-insensitive).
    pub fn headers(self: Request, name: ?[]const u8) HeaderIterator {
        return .{ .request = self, .name = name };
    }

    /// The function id of the request context (the manifest's `id`).
    pub fn functionId(self: Request) []const u8 {
        return str(c.fezz_request_function_id(self.raw));
    }

    /// The function version of the request context (the manifest's `version`).
    pub fn functionVersion(self: Request) []const u8 {
        return str(c.fezz_request_function_version(self.raw));
    }

    /// The host's id for this call (in its log and the client's `x-request-id`).
    pub fn requestId(self: Request) []const u8 {
        return str(c.fezz_request_id(self.raw));
    }

    /// When the host kills the call, in milliseconds since the Unix epoch, if it said.
    pub fn deadlineUnixMs(self: Request) ?u64 {
        var out: u64 = undefined;
        if (!c.fezz_request_deadline_unix_ms(self.raw, &out)) return null;
        return out;
    }

    /// The client's address, `ip:port` (`[ip]:port` for IPv6), if the host sent it.
    pub fn clientAddress(self: Request) ?[]const u8 {
        var out: c.FezzStr = undefined;
        if (!c.fezz_request_client_address(self.raw, &out)) return null;
        return str(out);
    }

    /// `http` or `https`, if the host sent it.
    pub fn scheme(self: Request) ?[]const u8 {
        var out: c.FezzStr = undefined;
        if (!c.fezz_request_scheme(self.raw, &out)) return null;
        return str(out);
    }

    /// The host (authority) the client asked for, if the host sent it.
    pub fn host(self: Request) ?[]const u8 {
        var out: c.FezzStr = undefined;
        if (!c.fezz_request_host(self.raw, &out)) return null;
        return str(out);
    }
};

/// The header fields of a request, in order, optionally only those of one name. Made by
/// `Request.headers`.
pub const HeaderIterator = struct {
    request: Request,
    name: ?[]const u8,
    index: usize = 0,

    /// The next field, or `null` at the end.
    pub fn next(self: *HeaderIterator) ?Header {
        while (self.request.headerAt(self.index)) |field| {
            self.index += 1;
            const wanted = self.name orelse return field;
            if (std.ascii.eqlIgnoreCase(field.name, wanted)) return field;
        }
        return null;
    }
};

/// One `name=value` piece of a query, both still encoded (decode with `decodeQueryAlloc`).
pub const QueryPair = struct {
    name: []const u8,
    value: []const u8,
};

/// The pairs of a raw query in order: split on `&` (empty pieces skipped), then at the first
/// `=` (a piece without `=` has the value `""`). Names and values stay encoded.
pub const QueryIterator = struct {
    pieces: std.mem.SplitIterator(u8, .scalar),

    /// The pairs of `raw_query`, the text after `?`.
    pub fn init(raw_query: []const u8) QueryIterator {
        return .{ .pieces = std.mem.splitScalar(u8, raw_query, '&') };
    }

    /// The next pair, or `null` at the end.
    pub fn next(self: *QueryIterator) ?QueryPair {
        while (self.pieces.next()) |piece| {
            if (piece.len == 0) continue;
            if (std.mem.indexOfScalar(u8, piece, '=')) |at| {
                return .{ .name = piece[0..at], .value = piece[at + 1 ..] };
            }
            return .{ .name = piece, .value = "" };
        }
        return null;
    }

    /// The value of the first pair whose decoded name is `name`, decoded, in memory from
    /// `allocator` (the caller frees it); `null` if there is none.
    pub fn findAlloc(self: *QueryIterator, allocator: std.mem.Allocator, name: []const u8) std.mem.Allocator.Error!?[]u8 {
        while (self.next()) |pair| {
            const decoded_name = try decodeQueryAlloc(allocator, pair.name);
            defer allocator.free(decoded_name);
            if (std.mem.eql(u8, decoded_name, name)) return try decodeQueryAlloc(allocator, pair.value);
        }
        return null;
    }
};

/// Decodes one query name or value as HTML forms encode it: `+` is a space and `%XY` is the
/// byte 0xXY; a `%` without two hex digits after it stays as it is. The result (bytes, not
/// checked as UTF-8) is allocated with `allocator`; the caller frees it.
pub fn decodeQueryAlloc(allocator: std.mem.Allocator, encoded: []const u8) std.mem.Allocator.Error![]u8 {
    var out = try std.ArrayList(u8).initCapacity(allocator, encoded.len);
    errdefer out.deinit(allocator);
    var index: usize = 0;
    while (index < encoded.len) {
        const byte = encoded[index];
        if (byte == '%' and index + 2 < encoded.len) {
            const high = std.fmt.charToDigit(encoded[index + 1], 16) catch null;
            const low = std.fmt.charToDigit(encoded[index + 2], 16) catch null;
            if (high != null and low != null) {
                out.appendAssumeCapacity(high.? << 4 | low.?);
                index += 3;
                continue;
            }
        }
        out.appendAssumeCapacity(if (byte == '+') ' ' else byte);
        index += 1;
    }
    return out.toOwnedSlice(allocator);
}

/// An encoded message owned by libfezz_abi: what `Response.encode` makes and
/// `fezz_handle_v2` hands to the runner. Release it with `deinit` unless it is handed out.
pub const Buffer = struct {
    raw: c.FezzBuffer,

    /// The encoded bytes.
    pub fn slice(self: Buffer) []const u8 {
        if (self.raw.len == 0) return "";
        return self.raw.data[0..self.raw.len];
    }

    /// Releases the bytes (`fezz_buffer_free`).
    pub fn deinit(self: Buffer) void {
        c.fezz_buffer_free(self.raw);
    }
};

/// A response being built. The status and headers go to the C response at once, so an invalid
/// one is an error where it is added; the body grows in memory from the allocator given to
/// `init` (`print`, `append`, `writer`-style helpers) and is handed over on `encode`.
pub const Response = struct {
    allocator: std.mem.Allocator,
    raw: *c.FezzResponse,
    body: std.ArrayList(u8) = .empty,

    /// A response with `status` (200 to 599, else `error.InvalidValue`), no headers and an
    /// empty body. Release it with `deinit`.
    pub fn init(allocator: std.mem.Allocator, status: u16) Error!Response {
        var raw: ?*c.FezzResponse = null;
        try check(c.fezz_response_new(status, &raw));
        return .{ .allocator = allocator, .raw = raw orelse return Error.NullArgument };
    }

    /// A `text/plain; charset=utf-8` response with `text` as its body.
    pub fn text(allocator: std.mem.Allocator, status: u16, body_text: []const u8) (Error || std.mem.Allocator.Error)!Response {
        var response = try Response.init(allocator, status);
        errdefer response.deinit();
        try response.addHeader("content-type", "text/plain; charset=utf-8");
        try response.append(body_text);
        return response;
    }

    /// Releases the response and its body.
    pub fn deinit(self: *Response) void {
        self.body.deinit(self.allocator);
        c.fezz_response_free(self.raw);
        self.* = undefined;
    }

    /// Appends a header field (copied): the name an HTTP token of 1 to 256 bytes, the value at
    /// most 16 KiB without a control byte but HTAB, at most 256 fields; else `InvalidValue` or `TooLarge`
    /// and nothing is added.
    pub fn addHeader(self: *Response, name: []const u8, value: []const u8) Error!void {
        try check(c.fezz_response_add_header(self.raw, name.ptr, name.len, value.ptr, value.len));
    }

    /// Replaces the body with a copy of `data`.
    pub fn setBody(self: *Response, data: []const u8) std.mem.Allocator.Error!void {
        self.body.clearRetainingCapacity();
        try self.body.appendSlice(self.allocator, data);
    }

    /// Appends `data` to the body.
    pub fn append(self: *Response, data: []const u8) std.mem.Allocator.Error!void {
        try self.body.appendSlice(self.allocator, data);
    }

    /// Appends formatted text to the body, as `std.fmt`.
    pub fn print(self: *Response, comptime format: []const u8, args: anytype) std.mem.Allocator.Error!void {
        try self.body.print(self.allocator, format, args);
    }

    /// Marks the response as reporting the function's own failure (the host logs `code` and
    /// `message`; the client still gets the status, headers and body).
    pub fn setError(self: *Response, code: []const u8, message: []const u8) Error!void {
        try check(c.fezz_response_set_error(self.raw, code.ptr, code.len, message.ptr, message.len));
    }

    /// Encodes the response (the body at most 8 MiB, else `TooLarge`). The response is
    /// unchanged and still needs `deinit`; the buffer needs `Buffer.deinit` unless it is handed
    /// out from `fezz_handle_v2`.
    pub fn encode(self: *Response) Error!Buffer {
        try check(c.fezz_response_set_body(self.raw, self.body.items.ptr, self.body.items.len));
        var out: c.FezzBuffer = std.mem.zeroes(c.FezzBuffer);
        try check(c.fezz_response_encode(self.raw, &out));
        return .{ .raw = out };
    }
};

/// Encodes a structured error (`code`, `message`) for `fezz_handle_v2` to hand out with a
/// non-zero result.
pub fn encodeError(code: []const u8, message: []const u8) Error!Buffer {
    var out: c.FezzBuffer = std.mem.zeroes(c.FezzBuffer);
    try check(c.fezz_error_encode(code.ptr, code.len, message.ptr, message.len, &out));
    return .{ .raw = out };
}

/// The type of a function's handler: the request, and an allocator whose memory is released
/// after the call (an arena), so a handler may allocate without freeing. An error fails the
/// call with the `fezz-error` `handler-error` whose message is the error's name (the runner
/// exits `function-failed`, logs `handler-error: <name>`, and the host answers 500).
pub const Handler = fn (allocator: std.mem.Allocator, request: Request) anyerror!Response;

/// The body of `fezz_handle_v2` for `handler`: decode, call with a per-call arena, encode.
/// A response that cannot be encoded (a body past 8 MiB) is replaced by a 500 JSON response
/// carrying the error `response-invalid`, as `#[fezz_function]` does in Rust. `exportHandler`
/// exports this; call it directly to test a handler on encoded bytes.
pub fn handleEncoded(comptime handler: Handler, encoded: []const u8, out: *c.FezzBuffer) c.FezzResult {
    const request = Request.decode(encoded) catch |err| return resultCode(err);
    defer request.deinit();
    var arena = std.heap.ArenaAllocator.init(std.heap.c_allocator);
    defer arena.deinit();
    var response = handler(arena.allocator(), request) catch |err| {
        return fail(out, "handler-error", @errorName(err));
    };
    defer response.deinit();
    const buffer = response.encode() catch |err| return substitute(out, err);
    out.* = buffer.raw;
    return c.FEZZ_RESULT_OK;
}

/// A 500 answer for a response that could not be encoded because of `err`.
fn substitute(out: *c.FezzBuffer, err: Error) c.FezzResult {
    const message = switch (err) {
        Error.TooLarge => "the response could not be encoded: a size is past a limit (TooLarge)",
        else => "the response could not be encoded",
    };
    var fallback = Response.init(std.heap.c_allocator, 500) catch return fail(out, "response-invalid", message);
    defer fallback.deinit();
    fallback.addHeader("content-type", "application/json") catch return fail(out, "response-invalid", message);
    fallback.print("{{\"error\":{{\"code\":\"response-invalid\",\"message\":\"{s}\"}}}}", .{message}) catch
        return fail(out, "response-invalid", message);
    fallback.setError("response-invalid", message) catch return fail(out, "response-invalid", message);
    const buffer = fallback.encode() catch return fail(out, "response-invalid", message);
    out.* = buffer.raw;
    return c.FEZZ_RESULT_OK;
}

fn fail(out: *c.FezzBuffer, code: []const u8, message: []const u8) c.FezzResult {
    if (encodeError(code, message)) |buffer| {
        out.* = buffer.raw;
    } else |_| {}
    return c.FEZZ_RESULT_FUNCTION_FAILED;
}

/// Exports the three symbols of a function library (`fezz_abi_version`, `fezz_handle_v2`,
/// `fezz_free_v2`) for `handler`. Call it once, in a `comptime` block of the library's root.
pub fn exportHandler(comptime handler: Handler) void {
    const exports = struct {
        fn abiVersion() callconv(.c) u32 {
            return abi_version;
        }
        fn handle(request: [*c]const u8, request_len: usize, response: [*c]c.FezzBuffer) callconv(.c) c.FezzResult {
            if (response == null or (request == null and request_len != 0)) return c.FEZZ_RESULT_NULL_ARGUMENT;
            const encoded: []const u8 = if (request_len == 0) "" else request[0..request_len];
            return handleEncoded(handler, encoded, @ptrCast(response));
        }
        fn free(buffer: c.FezzBuffer) callconv(.c) void {
            c.fezz_buffer_free(buffer);
        }
    };
    @export(&exports.abiVersion, .{ .name = "fezz_abi_version" });
    @export(&exports.handle, .{ .name = "fezz_handle_v2" });
    @export(&exports.free, .{ .name = "fezz_free_v2" });
}

test {
    _ = @import("fezz_test.zig");
}
