//! Tests of the fezz Zig module (`zig build test` in abi/zig, which `cargo test -p fezz-abi
//! --test zig` runs). Requests are built as CBOR by the small writer below, so every field the
//! wrapper reads is known; responses are compared byte for byte with the deterministic CBOR
//! the spec requires, so every field the builder writes is checked.

const std = @import("std");
const fezz = @import("fezz.zig");
const testing = std.testing;

/// Writes CBOR items (definite lengths, minimal heads) into a list.
const Cbor = struct {
    list: std.ArrayList(u8) = .empty,

    fn deinit(self: *Cbor) void {
        self.list.deinit(testing.allocator);
    }

    fn head(self: *Cbor, major: u8, value: u64) !void {
        const first = major << 5;
        const gpa = testing.allocator;
        if (value < 24) {
            try self.list.append(gpa, first | @as(u8, @intCast(value)));
        } else if (value <= 0xff) {
            try self.list.appendSlice(gpa, &.{ first | 24, @intCast(value) });
        } else if (value <= 0xffff) {
            try self.list.append(gpa, first | 25);
            try self.list.appendSlice(gpa, &std.mem.toBytes(std.mem.nativeToBig(u16, @intCast(value))));
        } else if (value <= 0xffff_ffff) {
            try self.list.append(gpa, first | 26);
            try self.list.appendSlice(gpa, &std.mem.toBytes(std.mem.nativeToBig(u32, @intCast(value))));
        } else {
            try self.list.append(gpa, first | 27);
            try self.list.appendSlice(gpa, &std.mem.toBytes(std.mem.nativeToBig(u64, value)));
        }
    }

    fn uint(self: *Cbor, value: u64) !void {
        try self.head(0, value);
    }

    fn byteString(self: *Cbor, value: []const u8) !void {
        try self.head(2, value.len);
        try self.list.appendSlice(testing.allocator, value);
    }

    fn text(self: *Cbor, value: []const u8) !void {
        try self.head(3, value.len);
        try self.list.appendSlice(testing.allocator, value);
    }

    fn array(self: *Cbor, len: u64) !void {
        try self.head(4, len);
    }

    fn map(self: *Cbor, len: u64) !void {
        try self.head(5, len);
    }

    fn headers(self: *Cbor, fields: []const fezz.Header) !void {
        try self.array(fields.len);
        for (fields) |field| {
            try self.array(2);
            try self.text(field.name);
            try self.byteString(field.value);
        }
    }
};

const request_headers = [_]fezz.Header{
    .{ .name = "accept", .value = "text/html" },
    .{ .name = "x-tag", .value = "a" },
    .{ .name = "X-Tag", .value = "b, c" },
};

/// A full request: every optional field present.
fn fullRequest(cbor: *Cbor) !void {
    try cbor.map(7);
    try cbor.uint(0);
    try cbor.uint(2);
    try cbor.uint(1);
    try cbor.text("POST");
    try cbor.uint(2);
    try cbor.text("/todos/7");
    try cbor.uint(3);
    try cbor.text("q=a+b&flag&&n=%31&q=second&caf%C3%A9=%E2%82%AC");
    try cbor.uint(4);
    try cbor.headers(&request_headers);
    try cbor.uint(5);
    try cbor.byteString("hello");
    try cbor.uint(6);
    try cbor.map(7);
    try cbor.uint(0);
    try cbor.text("todos");
    try cbor.uint(1);
    try cbor.text("1");
    try cbor.uint(2);
    try cbor.text("req-1");
    try cbor.uint(3);
    try cbor.uint(1_700_000_000_000);
    try cbor.uint(4);
    try cbor.text("127.0.0.1:5000");
    try cbor.uint(5);
    try cbor.text("https");
    try cbor.uint(6);
    try cbor.text("example.test");
}

/// The smallest request: no headers or body, an empty context, and `query` if not null.
fn bareRequest(cbor: *Cbor, query: ?[]const u8) !void {
    try cbor.map(if (query == null) 6 else 7);
    try cbor.uint(0);
    try cbor.uint(2);
    try cbor.uint(1);
    try cbor.text("GET");
    try cbor.uint(2);
    try cbor.text("/");
    if (query) |text| {
        try cbor.uint(3);
        try cbor.text(text);
    }
    try cbor.uint(4);
    try cbor.array(0);
    try cbor.uint(5);
    try cbor.byteString("");
    try cbor.uint(6);
    try cbor.map(3);
    for (0..3) |key| {
        try cbor.uint(key);
        try cbor.text("");
    }
}

/// The deterministic encoding of a response without an error.
fn expectedResponse(cbor: *Cbor, status: u16, fields: []const fezz.Header, body: []const u8) !void {
    try cbor.map(4);
    try cbor.uint(0);
    try cbor.uint(2);
    try cbor.uint(1);
    try cbor.uint(status);
    try cbor.uint(2);
    try cbor.headers(fields);
    try cbor.uint(3);
    try cbor.byteString(body);
}

test "a request's fields are slices and optionals" {
    var cbor: Cbor = .{};
    defer cbor.deinit();
    try fullRequest(&cbor);
    const request = try fezz.Request.decode(cbor.list.items);
    defer request.deinit();

    try testing.expectEqualStrings("POST", request.method());
    try testing.expect(request.isMethod("POST"));
    try testing.expect(!request.isMethod("post"));
    try testing.expectEqualStrings("/todos/7", request.path());
    try testing.expectEqualStrings("hello", request.body());
    try testing.expectEqualStrings("todos", request.functionId());
    try testing.expectEqualStrings("1", request.functionVersion());
    try testing.expectEqualStrings("req-1", request.requestId());
    try testing.expectEqual(@as(?u64, 1_700_000_000_000), request.deadlineUnixMs());
    try testing.expectEqualStrings("127.0.0.1:5000", request.clientAddress().?);
    try testing.expectEqualStrings("https", request.scheme().?);
    try testing.expectEqualStrings("example.test", request.host().?);
}

test "absent optional fields are null, an empty query is present" {
    var cbor: Cbor = .{};
    defer cbor.deinit();
    try bareRequest(&cbor, null);
    const request = try fezz.Request.decode(cbor.list.items);
    defer request.deinit();
    try testing.expectEqual(@as(?[]const u8, null), request.query());
    try testing.expectEqual(@as(?u64, null), request.deadlineUnixMs());
    try testing.expectEqual(@as(?[]const u8, null), request.clientAddress());
    try testing.expectEqual(@as(?[]const u8, null), request.scheme());
    try testing.expectEqual(@as(?[]const u8, null), request.host());
    try testing.expectEqual(@as(usize, 0), request.headerCount());
    try testing.expectEqual(@as(?fezz.Header, null), request.headerAt(0));
    try testing.expectEqualStrings("", request.body());
    var pairs = request.queryIterator();
    try testing.expectEqual(@as(?fezz.QueryPair, null), pairs.next());

    // The same request with `?` and nothing after it.
    var with_query: Cbor = .{};
    defer with_query.deinit();
    try bareRequest(&with_query, "");
    const empty = try fezz.Request.decode(with_query.list.items);
    defer empty.deinit();
    try testing.expectEqualStrings("", empty.query().?);
}

test "headers: first value by name, all values of a name, every field" {
    var cbor: Cbor = .{};
    defer cbor.deinit();
    try fullRequest(&cbor);
    const request = try fezz.Request.decode(cbor.list.items);
    defer request.deinit();

    try testing.expectEqualStrings("text/html", request.header("Accept").?);
    try testing.expectEqualStrings("a", request.header("x-tag").?);
    try testing.expectEqual(@as(?[]const u8, null), request.header("cookie"));
    try testing.expectEqual(@as(usize, 3), request.headerCount());
    try testing.expectEqualStrings("X-Tag", request.headerAt(2).?.name);

    var tags = request.headers("X-TAG");
    try testing.expectEqualStrings("a", tags.next().?.value);
    try testing.expectEqualStrings("b, c", tags.next().?.value);
    try testing.expectEqual(@as(?fezz.Header, null), tags.next());

    var all = request.headers(null);
    var count: usize = 0;
    while (all.next()) |field| : (count += 1) {
        try testing.expectEqualStrings(request_headers[count].name, field.name);
    }
    try testing.expectEqual(request_headers.len, count);
}

test "the query: raw pairs in order, decoded on demand" {
    var cbor: Cbor = .{};
    defer cbor.deinit();
    try fullRequest(&cbor);
    const request = try fezz.Request.decode(cbor.list.items);
    defer request.deinit();

    var pairs = request.queryIterator();
    const expected = [_][2][]const u8{
        .{ "q", "a+b" },    .{ "flag", "" },               .{ "n", "%31" },
        .{ "q", "second" }, .{ "caf%C3%A9", "%E2%82%AC" },
    };
    for (expected) |pair| {
        const got = pairs.next().?;
        try testing.expectEqualStrings(pair[0], got.name);
        try testing.expectEqualStrings(pair[1], got.value);
    }
    try testing.expectEqual(@as(?fezz.QueryPair, null), pairs.next());

    var find = request.queryIterator();
    const q = (try find.findAlloc(testing.allocator, "q")).?;
    defer testing.allocator.free(q);
    try testing.expectEqualStrings("a b", q);
    find = request.queryIterator();
    const euro = (try find.findAlloc(testing.allocator, "café")).?;
    defer testing.allocator.free(euro);
    try testing.expectEqualStrings("€", euro);
    find = request.queryIterator();
    try testing.expectEqual(@as(?[]u8, null), try find.findAlloc(testing.allocator, "page"));

    const odd = try fezz.decodeQueryAlloc(testing.allocator, "%zz+%2B%4%");
    defer testing.allocator.free(odd);
    try testing.expectEqualStrings("%zz +%4%", odd);
}

test "invalid request bytes are error.RequestInvalid" {
    try testing.expectError(fezz.Error.RequestInvalid, fezz.Request.decode("not cbor"));
    try testing.expectError(fezz.Error.RequestInvalid, fezz.Request.decode(""));
}

test "the response builder encodes status, headers and body exactly" {
    var response = try fezz.Response.init(testing.allocator, 201);
    defer response.deinit();
    try response.addHeader("content-type", "text/plain; charset=utf-8");
    try response.addHeader("location", "/todos/7");
    try response.print("todo {d} ", .{7});
    try response.append("made");
    var buffer = try response.encode();
    defer buffer.deinit();

    var expected: Cbor = .{};
    defer expected.deinit();
    try expectedResponse(&expected, 201, &.{
        .{ .name = "content-type", .value = "text/plain; charset=utf-8" },
        .{ .name = "location", .value = "/todos/7" },
    }, "todo 7 made");
    try testing.expectEqualSlices(u8, expected.list.items, buffer.slice());

    // setBody replaces; encoding again gives the new body.
    try response.setBody("again");
    var second = try response.encode();
    defer second.deinit();
    var expected_again: Cbor = .{};
    defer expected_again.deinit();
    try expectedResponse(&expected_again, 201, &.{
        .{ .name = "content-type", .value = "text/plain; charset=utf-8" },
        .{ .name = "location", .value = "/todos/7" },
    }, "again");
    try testing.expectEqualSlices(u8, expected_again.list.items, second.slice());
}

test "text responses and refused values" {
    var text = try fezz.Response.text(testing.allocator, 404, "nope\n");
    defer text.deinit();
    var buffer = try text.encode();
    defer buffer.deinit();
    var expected: Cbor = .{};
    defer expected.deinit();
    try expectedResponse(&expected, 404, &.{.{ .name = "content-type", .value = "text/plain; charset=utf-8" }}, "nope\n");
    try testing.expectEqualSlices(u8, expected.list.items, buffer.slice());

    try testing.expectError(fezz.Error.InvalidValue, fezz.Response.init(testing.allocator, 99));
    try testing.expectError(fezz.Error.InvalidValue, fezz.Response.init(testing.allocator, 600));
    var response = try fezz.Response.init(testing.allocator, 200);
    defer response.deinit();
    try testing.expectError(fezz.Error.InvalidValue, response.addHeader("bad name", "x"));
    try testing.expectError(fezz.Error.InvalidValue, response.addHeader("x-split", "a\r\nset-cookie: b"));
    try testing.expectError(fezz.Error.InvalidValue, response.addHeader("", "x"));
    const long = try testing.allocator.alloc(u8, 16 * 1024 + 1);
    defer testing.allocator.free(long);
    @memset(long, 'a');
    try testing.expectError(fezz.Error.TooLarge, response.addHeader("x-long", long));
    // Nothing refused was added.
    var empty = try response.encode();
    defer empty.deinit();
    var expected_empty: Cbor = .{};
    defer expected_empty.deinit();
    try expectedResponse(&expected_empty, 200, &.{}, "");
    try testing.expectEqualSlices(u8, expected_empty.list.items, empty.slice());
}

test "results map to errors and back" {
    try fezz.check(fezz.c.FEZZ_RESULT_OK);
    const codes = [_]fezz.c.FezzResult{
        fezz.c.FEZZ_RESULT_NULL_ARGUMENT,   fezz.c.FEZZ_RESULT_REQUEST_INVALID,
        fezz.c.FEZZ_RESULT_FUNCTION_FAILED, fezz.c.FEZZ_RESULT_PANIC,
        fezz.c.FEZZ_RESULT_INVALID_VALUE,   fezz.c.FEZZ_RESULT_TOO_LARGE,
        fezz.c.FEZZ_RESULT_OUT_OF_RANGE,
    };
    for (codes) |code| {
        const err = if (fezz.check(code)) |_| unreachable else |err| err;
        try testing.expectEqual(code, fezz.resultCode(err));
    }
    try testing.expectError(fezz.Error.Unknown, fezz.check(42));
    try testing.expectEqual(@as(u32, 2), fezz.abi_version);
}

fn echo(allocator: std.mem.Allocator, request: fezz.Request) !fezz.Response {
    if (!request.isMethod("POST")) return error.OnlyPost;
    var response = try fezz.Response.init(allocator, 200);
    errdefer response.deinit();
    try response.addHeader("x-path", request.path());
    // The arena frees this after the call.
    const upper = try std.ascii.allocUpperString(allocator, request.body());
    try response.append(upper);
    return response;
}

test "handleEncoded: a response, a handler's error, invalid bytes" {
    var cbor: Cbor = .{};
    defer cbor.deinit();
    try fullRequest(&cbor);
    var out = std.mem.zeroes(fezz.c.FezzBuffer);
    try testing.expectEqual(fezz.c.FEZZ_RESULT_OK, fezz.handleEncoded(echo, cbor.list.items, &out));
    const answer = fezz.Buffer{ .raw = out };
    defer answer.deinit();
    var expected: Cbor = .{};
    defer expected.deinit();
    try expectedResponse(&expected, 200, &.{.{ .name = "x-path", .value = "/todos/7" }}, "HELLO");
    try testing.expectEqualSlices(u8, expected.list.items, answer.slice());

    var bare: Cbor = .{};
    defer bare.deinit();
    try bareRequest(&bare, null);
    out = std.mem.zeroes(fezz.c.FezzBuffer);
    try testing.expectEqual(fezz.c.FEZZ_RESULT_FUNCTION_FAILED, fezz.handleEncoded(echo, bare.list.items, &out));
    const failure = fezz.Buffer{ .raw = out };
    defer failure.deinit();
    const expected_error = try fezz.encodeError("handler-error", "OnlyPost");
    defer expected_error.deinit();
    try testing.expectEqualSlices(u8, expected_error.slice(), failure.slice());

    out = std.mem.zeroes(fezz.c.FezzBuffer);
    try testing.expectEqual(fezz.c.FEZZ_RESULT_REQUEST_INVALID, fezz.handleEncoded(echo, "\xff", &out));
    try testing.expectEqual(@as(usize, 0), out.len);
}

fn huge(allocator: std.mem.Allocator, request: fezz.Request) !fezz.Response {
    _ = request;
    var response = try fezz.Response.init(allocator, 200);
    errdefer response.deinit();
    try response.addHeader("x-kept", "no");
    const body = try allocator.alloc(u8, 8 * 1024 * 1024 + 1);
    @memset(body, 'x');
    try response.setBody(body);
    return response;
}

test "handleEncoded: a response past the limits becomes a 500 reporting response-invalid" {
    var cbor: Cbor = .{};
    defer cbor.deinit();
    try bareRequest(&cbor, null);
    var out = std.mem.zeroes(fezz.c.FezzBuffer);
    try testing.expectEqual(fezz.c.FEZZ_RESULT_OK, fezz.handleEncoded(huge, cbor.list.items, &out));
    const answer = fezz.Buffer{ .raw = out };
    defer answer.deinit();

    const message = "the response could not be encoded: a size is past a limit (TooLarge)";
    var expected: Cbor = .{};
    defer expected.deinit();
    try expected.map(5);
    try expected.uint(0);
    try expected.uint(2);
    try expected.uint(1);
    try expected.uint(500);
    try expected.uint(2);
    try expected.headers(&.{.{ .name = "content-type", .value = "application/json" }});
    try expected.uint(3);
    try expected.byteString("{\"error\":{\"code\":\"response-invalid\",\"message\":\"" ++ message ++ "\"}}");
    try expected.uint(4);
    try expected.map(2);
    try expected.uint(0);
    try expected.text("response-invalid");
    try expected.uint(1);
    try expected.text(message);
    try testing.expectEqualSlices(u8, expected.list.items, answer.slice());
}
