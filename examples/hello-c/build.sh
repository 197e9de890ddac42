#!/bin/sh
# Tests and builds hello-c with the one link line of spec/ABI.md, "Building a C function":
# $(pkg-config --cflags --libs fezz).
#
#   examples/hello-c/build.sh [DEPLOY_DIR]
#
# 1. compiles hello_test.c with hello.c into a test program and runs it, then again under
#    AddressSanitizer (set FEZZ_ASAN=0 to skip that run, e.g. where libasan is missing);
# 2. builds libhello_c.so next to fezz.json, or with DEPLOY_DIR (e.g. functions/hello-c@1) in
#    that folder, with a copy of fezz.json next to it, so the folder is a deployed function.
#
# fezz comes from pkg-config (fezz.pc, installed by abi/install.sh). When pkg-config does not
# find it (PKG_CONFIG_PATH), build.sh installs it from this checkout first:
# abi/install.sh --profile $FEZZ_PROFILE (default dev) $CARGO_TARGET_DIR/fezz-prefix/$FEZZ_PROFILE.
# Environment: CC (default cc), PKG_CONFIG_PATH, FEZZ_PROFILE, CARGO_TARGET_DIR, FEZZ_ASAN.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cc=${CC:-cc}

out_dir=$here
if [ $# -ge 1 ]; then
    mkdir -p "$1"
    out_dir=$(cd "$1" && pwd)
fi

if ! pkg-config --exists fezz 2>/dev/null; then
    profile=${FEZZ_PROFILE:-dev}
    prefix=${CARGO_TARGET_DIR:-$root/target}/fezz-prefix/$profile
    echo "build.sh: pkg-config finds no fezz; installing it into $prefix" >&2
    sh "$root/abi/install.sh" --profile "$profile" "$prefix"
    PKG_CONFIG_PATH=$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
    export PKG_CONFIG_PATH
fi
fezz=$(pkg-config --cflags --libs fezz)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck disable=SC2086 # $fezz is a list of flags
$cc -std=c11 -Wall -Wextra -Werror -g -o "$work/hello_test" "$here/hello_test.c" "$here/hello.c" $fezz
"$work/hello_test"
if [ "${FEZZ_ASAN:-1}" != 0 ]; then
    # shellcheck disable=SC2086
    $cc -std=c11 -Wall -Wextra -Werror -g -fsanitize=address -fno-omit-frame-pointer \
        -o "$work/hello_test_asan" "$here/hello_test.c" "$here/hello.c" $fezz
    ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 "$work/hello_test_asan" >/dev/null
    echo "build.sh: hello_test passed under AddressSanitizer" >&2
fi

# shellcheck disable=SC2086
$cc -std=c11 -Wall -Wextra -Werror -O2 -fPIC -shared -fvisibility=hidden \
    -o "$out_dir/.libhello_c.so.tmp.$$" "$here/hello.c" $fezz
# A new name, then a rename: a runner loading the old library never sees a half-written one.
mv -f "$out_dir/.libhello_c.so.tmp.$$" "$out_dir/libhello_c.so"
echo "build.sh: built $out_dir/libhello_c.so" >&2

if [ "$out_dir" != "$here" ]; then
    cp "$here/fezz.json" "$out_dir/.fezz.json.tmp.$$"
    mv -f "$out_dir/.fezz.json.tmp.$$" "$out_dir/fezz.json"
    echo "build.sh: deployed $out_dir" >&2
fi
