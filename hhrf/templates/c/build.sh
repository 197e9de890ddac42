#!/bin/sh
# Builds lib{{lib}}.so from function.c, fezz.h and the codec static library libfezz_abi.a of
# the fezz checkout, next to fezz.json or into OUT_DIR.
#
#   ./build.sh [OUT_DIR]
#
# Environment: CC (default cc); FEZZ_CHECKOUT, the fezz checkout (default the one `hhrf new`
# was built from); FEZZ_ABI_LIB, the path of libfezz_abi.a (default: the newer of
# $CARGO_TARGET_DIR/debug and /release, CARGO_TARGET_DIR defaulting to the checkout's
# target/; `cargo build -p fezz-abi` in the checkout makes it).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
checkout=${FEZZ_CHECKOUT:-{{checkout}}}
out_dir=${1:-$here}

# The one place that says how to compile and link (spec/ABI.md, "Building a C function").
# Once the checkout installs fezz.pc for pkg-config, it becomes:
#   ${CC:-cc} -std=c11 -Wall -Wextra -Werror -O2 -fPIC -shared -o "$1" "$here/function.c" $(pkg-config --cflags --libs fezz)
build_library() {
    ${CC:-cc} -std=c11 -Wall -Wextra -Werror -O2 -fPIC -shared -I "$checkout/spec" \
        -o "$1" "$here/function.c" \
        "$abi_lib" -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc \
        -Wl,--exclude-libs,ALL -Wl,--gc-sections
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

# A new name, then a rename: a runner loading the old library never sees a half-written one.
build_library "$out_dir/.lib{{lib}}.so.tmp.$$"
mv -f "$out_dir/.lib{{lib}}.so.tmp.$$" "$out_dir/lib{{lib}}.so"
echo "build.sh: built $out_dir/lib{{lib}}.so" >&2
