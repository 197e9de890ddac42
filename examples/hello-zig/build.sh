#!/bin/sh
# Builds libhello_zig.so next to fezz.json from hello.zig, spec/fezz.h (through
# `zig translate-c`, not @cImport) and the codec static library (libfezz_abi.a from
# `cargo build -p fezz-abi`).
#
#   examples/hello-zig/build.sh [DEPLOY_DIR]
#
# With DEPLOY_DIR (e.g. functions/hello-zig@1) it builds the library there instead and copies
# fezz.json next to it, so the folder is a deployed function.
# Environment: FEZZ_ZIG, the zig command (default `python3 -m ziglang`, from
# `pip install ziglang==0.15.2`); FEZZ_ABI_LIB, the path of libfezz_abi.a (default: the newer of
# $CARGO_TARGET_DIR/debug and /release, CARGO_TARGET_DIR defaulting to the repository's target/).
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

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck disable=SC2086 # $zig may be a command with arguments
$zig translate-c -lc "$root/spec/fezz.h" > "$work/fezz.zig"
# -lunwind: the Rust static library needs an unwinder, and zig links no libgcc_s by itself.
# shellcheck disable=SC2086
(cd "$work" && $zig build-lib -dynamic -O ReleaseSafe -lc -lunwind \
    --dep fezz -Mroot="$here/hello.zig" -Mfezz="$work/fezz.zig" "$abi_lib" \
    --name hello_zig -femit-bin="$out_dir/.libhello_zig.so.tmp.$$")
# A new name, then a rename: a runner loading the old library never sees a half-written one.
mv -f "$out_dir/.libhello_zig.so.tmp.$$" "$out_dir/libhello_zig.so"
echo "build.sh: built $out_dir/libhello_zig.so" >&2

if [ "$out_dir" != "$here" ]; then
    cp "$here/fezz.json" "$out_dir/.fezz.json.tmp.$$"
    mv -f "$out_dir/.fezz.json.tmp.$$" "$out_dir/fezz.json"
    echo "build.sh: deployed $out_dir" >&2
fi
