#!/bin/sh
# Builds libhello_zig.so next to fezz.json from hello.zig, spec/fezz.h (through
# `zig translate-c`, not @cImport) and the codec static library (libfezz_abi.a from
# `cargo build -p fezz-abi`).
#
#   examples/hello-zig/build.sh [DEPLOY_DIR]
#
# With DEPLOY_DIR (e.g. functions/hello-zig@1) it also copies fezz.json and the library there.
# Environment: FEZZ_ZIG, the zig command (default `python3 -m ziglang`, from
# `pip install ziglang==0.15.2`); FEZZ_ABI_LIB, the path of libfezz_abi.a (default: the newer of
# $CARGO_TARGET_DIR/debug and /release, CARGO_TARGET_DIR defaulting to the repository's target/).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
zig=${FEZZ_ZIG:-python3 -m ziglang}

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
    --name hello_zig -femit-bin="$here/libhello_zig.so")
echo "build.sh: built $here/libhello_zig.so" >&2

if [ $# -ge 1 ]; then
    mkdir -p "$1"
    cp "$here/fezz.json" "$1/fezz.json"
    cp "$here/libhello_zig.so" "$1/.libhello_zig.so.tmp.$$"
    mv -f "$1/.libhello_zig.so.tmp.$$" "$1/libhello_zig.so"
    echo "build.sh: deployed to $1" >&2
fi
