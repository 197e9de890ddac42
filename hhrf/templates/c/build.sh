#!/bin/sh
# Builds lib{{lib}}.so from function.c, fezz.h and the codec static library libfezz_abi.a of
# the fezz checkout, next to fezz.json or into OUT_DIR.
#
#   ./build.sh [OUT_DIR]
#
# fezz comes from pkg-config (fezz.pc, which the checkout's abi/install.sh installs). When
# pkg-config does not find it (PKG_CONFIG_PATH), build.sh installs it from the checkout first,
# into $CARGO_TARGET_DIR/fezz-prefix/$FEZZ_PROFILE (default dev), and uses that.
# Environment: CC (default cc); FEZZ_CHECKOUT, the fezz checkout (default the one `hhrf new`
# was built from); PKG_CONFIG_PATH, FEZZ_PROFILE, CARGO_TARGET_DIR.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
checkout=${FEZZ_CHECKOUT:-{{checkout}}}
out_dir=${1:-$here}

if ! pkg-config --exists fezz 2>/dev/null; then
    profile=${FEZZ_PROFILE:-dev}
    prefix=${CARGO_TARGET_DIR:-$checkout/target}/fezz-prefix/$profile
    echo "build.sh: pkg-config finds no fezz; installing it into $prefix" >&2
    sh "$checkout/abi/install.sh" --profile "$profile" "$prefix"
    PKG_CONFIG_PATH=$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
    export PKG_CONFIG_PATH
fi

# The one place that says how to compile and link: the link line of spec/ABI.md, "Building
# a C function".
build_library() {
    # shellcheck disable=SC2046 # pkg-config prints a list of flags
    ${CC:-cc} -std=c11 -Wall -Wextra -Werror -O2 -fPIC -shared -fvisibility=hidden \
        -o "$1" "$here/function.c" $(pkg-config --cflags --libs fezz)
}

# A new name, then a rename: a runner loading the old library never sees a half-written one.
build_library "$out_dir/.lib{{lib}}.so.tmp.$$"
mv -f "$out_dir/.lib{{lib}}.so.tmp.$$" "$out_dir/lib{{lib}}.so"
echo "build.sh: built $out_dir/lib{{lib}}.so" >&2
