#!/bin/sh
# Builds libhello_c.so next to fezz.json from hello.c, spec/fezz.h and the codec static library
# (libfezz_abi.a from `cargo build -p fezz-abi`).
#
#   examples/hello-c/build.sh [DEPLOY_DIR]
#
# With DEPLOY_DIR (e.g. functions/hello-c@1) it builds the library there instead and copies
# fezz.json next to it, so the folder is a deployed function.
# Environment: CC (default cc); FEZZ_ABI_LIB, the path of libfezz_abi.a (default: the newer of
# $CARGO_TARGET_DIR/debug and /release, CARGO_TARGET_DIR defaulting to the repository's target/).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}

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

# The link line of spec/ABI.md, "Building a C function".
${CC:-cc} -std=c11 -Wall -Wextra -Werror -O2 -fPIC -shared -I "$root/spec" \
    -o "$out_dir/.libhello_c.so.tmp.$$" "$here/hello.c" \
    "$abi_lib" -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc \
    -Wl,--exclude-libs,ALL -Wl,--gc-sections
# A new name, then a rename: a runner loading the old library never sees a half-written one.
mv -f "$out_dir/.libhello_c.so.tmp.$$" "$out_dir/libhello_c.so"
echo "build.sh: built $out_dir/libhello_c.so" >&2

if [ "$out_dir" != "$here" ]; then
    cp "$here/fezz.json" "$out_dir/.fezz.json.tmp.$$"
    mv -f "$out_dir/.fezz.json.tmp.$$" "$out_dir/fezz.json"
    echo "build.sh: deployed $out_dir" >&2
fi
