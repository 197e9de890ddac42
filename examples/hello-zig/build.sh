#!/bin/sh
# Builds libhello_zig.so next to fezz.json from hello.zig with `zig build` (build.zig): the fezz
# Zig module (abi/zig, which imports spec/fezz.h itself: no translate-c) and the codec static
# library (libfezz_abi.a from `cargo build -p fezz-abi`).
#
#   examples/hello-zig/build.sh [DEPLOY_DIR]
#
# With DEPLOY_DIR (e.g. functions/hello-zig@1) it builds the library there instead and copies
# fezz.json next to it, so the folder is a deployed function.
# Environment: FEZZ_ZIG, the zig command (default `python3 -m ziglang`, from
# `pip install ziglang==0.15.2`); FEZZ_ABI_LIB, the path of libfezz_abi.a (default: the newer of
# $CARGO_TARGET_DIR/debug and /release, CARGO_TARGET_DIR defaulting to the repository's target/).
# Zig's cache for this build is $CARGO_TARGET_DIR/zig-cache/hello-zig.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
zig=${FEZZ_ZIG:-python3 -m ziglang}

out_dir=$here
if [ $# -ge 1 ]; then
    mkdir -p "$1"
    out_dir=$(cd "$1" && pwd)
fi

abi_lib=${FEZZ_ABI_LIB:-}
if [ -z "$abi_lib" ]; then
    for candidate in "$target/debug/libfezz_abi.a" "$target/release/libfezz_abi.a"; do
        if [ -f "$candidate" ] && { [ -z "$abi_lib" ] || [ "$candidate" -nt "$abi_lib" ]; }; then
            abi_lib=$candidate
        fi
    done
fi
if [ -z "$abi_lib" ] || [ ! -f "$abi_lib" ]; then
    echo "build.sh: libfezz_abi.a not found; run \`cargo build -p fezz-abi\` first (or set FEZZ_ABI_LIB)" >&2
    exit 1
fi

# zig runs in this folder: make both paths absolute.
abi_lib=$(cd "$(dirname "$abi_lib")" && pwd)/$(basename "$abi_lib")
mkdir -p "$target"
target=$(cd "$target" && pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck disable=SC2086 # $zig may be a command with arguments
(cd "$here" && $zig build -Doptimize=ReleaseSafe -Dabi-lib="$abi_lib" \
    --cache-dir "$target/zig-cache/hello-zig" --prefix "$work/out")
cp "$work/out/lib/libhello_zig.so" "$out_dir/.libhello_zig.so.tmp.$$"
# A new name, then a rename: a runner loading the old library never sees a half-written one.
mv -f "$out_dir/.libhello_zig.so.tmp.$$" "$out_dir/libhello_zig.so"
echo "build.sh: built $out_dir/libhello_zig.so" >&2

if [ "$out_dir" != "$here" ]; then
    cp "$here/fezz.json" "$out_dir/.fezz.json.tmp.$$"
    mv -f "$out_dir/.fezz.json.tmp.$$" "$out_dir/fezz.json"
    echo "build.sh: deployed $out_dir" >&2
fi
