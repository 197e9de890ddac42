//! Builds the fezz Zig module (`fezz.zig`) and its tests.
//!
//! - `b.dependency("fezz", .{ .target = target, .optimize = optimize }).module("fezz")` gives a
//!   function library the module; it carries the include path of `spec/fezz.h`, libc, the
//!   codec's static library `libfezz_abi.a` and the unwinder that library needs.
//! - `zig build test` runs the tests in `fezz_test.zig` against the real codec.
//!
//! Where `libfezz_abi.a` is: `-Dabi-lib=PATH`, else the `FEZZ_ABI_LIB` environment variable,
//! else `../../target/debug/libfezz_abi.a` (what `cargo build -p fezz-abi` makes in this
//! checkout). `-Dfezz-include=DIR` overrides the directory of `fezz.h` (default `../../spec`).

const std = @import("std");

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});
    const abi_lib = b.option([]const u8, "abi-lib", "path of libfezz_abi.a (cargo build -p fezz-abi)") orelse
        b.graph.env_map.get("FEZZ_ABI_LIB");
    const include = b.option([]const u8, "fezz-include", "directory holding fezz.h (default ../../spec)");

    const module = b.addModule("fezz", .{
        .root_source_file = b.path("fezz.zig"),
        .target = target,
        .optimize = optimize,
        .link_libc = true,
    });
    module.addIncludePath(if (include) |dir| .{ .cwd_relative = dir } else b.path("../../spec"));
    module.addObjectFile(if (abi_lib) |path| .{ .cwd_relative = path } else b.path("../../target/debug/libfezz_abi.a"));
    // The Rust static library calls the unwinder; zig links no libgcc_s by itself, so this is
    // zig's own libunwind (the `-lunwind` of a zig command line).
    module.linkSystemLibrary("unwind", .{});

    const tests = b.addTest(.{ .root_module = module });
    const run_tests = b.addRunArtifact(tests);
    b.step("test", "Run the fezz module's tests").dependOn(&run_tests.step);
}
