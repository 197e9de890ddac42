#!/bin/sh
# Builds lib{{lib}}.so from function.zig, the fezz Zig module of the fezz checkout (abi/zig,
# which imports fezz.h itself: no translate-c) and its codec static library libfezz_abi.a,
# next to fezz.json or into OUT_DIR. With FEZZ_ZIG_TEST=1 it runs the tests of function.zig
# (`zig test`) instead.
#
#   ./build.sh [OUT_DIR]
#
# Environment: FEZZ_ZIG, the zig command (default `python3 -m ziglang`, from
# `pip install ziglang==0.15.2`); FEZZ_CHECKOUT, the fezz checkout (default the one
# `hhrf new` was built from); FEZZ_ABI_LIB, the path of libfezz_abi.a (default: the newer of
# $CARGO_TARGET_DIR/debug and /release, CARGO_TARGET_DIR defaulting to the checkout's
# target/; `cargo build -p fezz-abi` in the checkout makes it).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
checkout=${FEZZ_CHECKOUT:-{{checkout}}}
zig=${FEZZ_ZIG:-python3 -m ziglang}
out_dir=${1:-$here}

# The one place that says how to compile and link: `zig build-lib` (or `zig test`) on
# function.zig with the checkout's Zig module as module `fezz` (its C header from spec/).
# -lunwind: the Rust static library needs an unwinder, and zig links no libgcc_s by itself.
zig_function() {
    # shellcheck disable=SC2086 # $zig may be a command with arguments
    (cd "$work" && $zig "$@" -lc -lunwind --dep fezz -Mroot="$here/function.zig" \
        -I "$checkout/spec" -Mfezz="$checkout/abi/zig/fezz.zig" "$abi_lib")
}

target=${CARGO_TARGET_DIR:-$checkout/target}
abi_lib=${FEZZ_ABI_LIB:-}
if [ -z "$abi_lib" ]; then
    for candidate in "$target/debug/libfezz_abi.a" "$target/release/libfezz_abi.a"; do
        # shellcheck disable=SC3013 # -nt: dash, bash and busybox sh all have it
        if [ -f "$candidate" ] && { [ -z "$abi_lib" ] || [ "$candidate" -nt "$abi_lib" ]; }; then
            abi_lib=$candidate
        fi
    done
fi
if [ -z "$abi_lib" ] || [ ! -f "$abi_lib" ]; then
    echo "build.sh: libfezz_abi.a not found; run \`cargo build -p fezz-abi\` in $checkout (or set FEZZ_ABI_LIB)" >&2
    exit 1
fi

# A stable working folder, so zig's cache recognises unchanged inputs.
work=$here/.zig-cache/fezz
mkdir -p "$work"

if [ "${FEZZ_ZIG_TEST:-0}" = 1 ]; then
    zig_function test
    exit 0
fi
# A new name, then a rename: a runner loading the old library never sees a half-written one.
zig_function build-lib -dynamic -O ReleaseSafe --name {{lib}} -femit-bin="$out_dir/.lib{{lib}}.so.tmp.$$"
mv -f "$out_dir/.lib{{lib}}.so.tmp.$$" "$out_dir/lib{{lib}}.so"
echo "build.sh: built $out_dir/lib{{lib}}.so" >&2
