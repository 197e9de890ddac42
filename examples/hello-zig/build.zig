//! Builds libhello_zig.so from hello.zig and the fezz Zig module (`zig build`, output in
//! `zig-out/lib/`). `-Dabi-lib=PATH` (or `FEZZ_ABI_LIB`) names libfezz_abi.a, as in
//! abi/zig/build.zig.

const std = @import("std");

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});
    const abi_lib = b.option([]const u8, "abi-lib", "path of libfezz_abi.a (cargo build -p fezz-abi)");
    const fezz = if (abi_lib) |path|
        b.dependency("fezz", .{ .target = target, .optimize = optimize, .@"abi-lib" = path })
    else
        b.dependency("fezz", .{ .target = target, .optimize = optimize });

    const library = b.addLibrary(.{
        .name = "hello_zig",
        .linkage = .dynamic,
        .root_module = b.createModule(.{
            .root_source_file = b.path("hello.zig"),
            .target = target,
            .optimize = optimize,
            .imports = &.{.{ .name = "fezz", .module = fezz.module("fezz") }},
        }),
    });
    b.installArtifact(library);
}
