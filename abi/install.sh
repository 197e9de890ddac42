#!/bin/sh
# Installs the fezz C SDK under a prefix, for C (and C++, Zig) function libraries:
#
#   PREFIX/include/fezz.h                the header (spec/fezz.h)
#   PREFIX/lib/libfezz_abi.a             the codec, the fezz-abi crate as a static library
#   PREFIX/lib/pkgconfig/fezz.pc         for pkg-config: the include path, -lfezz_abi, and the
#                                        native libraries and linker options it needs
#
# so that a function builds with the one link line of spec/ABI.md ("Building a C function"):
#
#   cc -std=c99 -O2 -fPIC -shared -o libhello.so hello.c $(pkg-config --cflags --libs fezz)
#
# with PKG_CONFIG_PATH=PREFIX/lib/pkgconfig unless PREFIX is one pkg-config searches already.
#
# Usage: abi/install.sh [--profile PROFILE] PREFIX
#   --profile PROFILE  the cargo profile to build with (default release; the tests use dev)
# Environment: CARGO (default cargo), and whatever cargo itself reads (CARGO_TARGET_DIR, ...).
#
# One cargo command builds the archive and reports the native libraries rustc links it with:
#   cargo rustc --profile PROFILE -p fezz-abi --lib --crate-type staticlib \
#       -- --print native-static-libs
# The libraries go into fezz.pc's `Libs` (not `Libs.private`): libfezz_abi.a is only a static
# library, so `pkg-config --libs fezz` must name them without --static. On Linux `Libs` also
# carries -Wl,--exclude-libs,ALL (only the function's own three exports stay in its dynamic
# symbol table, not the thousands of the archive) and -Wl,--gc-sections (drops what the
# function does not use).
# Each file is written under a temporary name and renamed, so a concurrent reader never sees a
# half-written one.
set -eu

usage() {
    echo "usage: abi/install.sh [--profile PROFILE] PREFIX" >&2
    exit 2
}

profile=release
while [ $# -gt 0 ]; do
    case $1 in
        --profile)
            [ $# -ge 2 ] || usage
            profile=$2
            shift 2
            ;;
        --profile=*)
            profile=${1#--profile=}
            shift
            ;;
        -h | --help) usage ;;
        --) shift; break ;;
        -*) echo "install.sh: unknown option $1" >&2; usage ;;
        *) break ;;
    esac
done
[ $# -eq 1 ] || usage
prefix=$1
case $prefix in
    *[[:space:]]*) echo "install.sh: the prefix must not contain white space (pkg-config splits on it)" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)

# Build, keeping cargo's JSON messages (stdout) for the archive's path and the rendered
# diagnostics (stderr) for rustc's note on the native libraries.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! (cd "$root" && "${CARGO:-cargo}" rustc --profile "$profile" -p fezz-abi --lib \
    --crate-type staticlib --message-format=json-render-diagnostics \
    -- --print native-static-libs) >"$work/messages" 2>"$work/log"; then
    cat "$work/log" >&2
    echo "install.sh: building libfezz_abi.a failed" >&2
    exit 1
fi
archive=$(sed -n 's/.*"filenames":\["\([^"]*libfezz_abi\.a\)".*/\1/p' "$work/messages" | tail -n 1)
native=$(sed -n 's/^note: native-static-libs: //p' "$work/log" | tail -n 1)
if [ -z "$archive" ] || [ ! -f "$archive" ]; then
    cat "$work/log" >&2
    echo "install.sh: cargo reported no libfezz_abi.a" >&2
    exit 1
fi
if [ -z "$native" ]; then
    cat "$work/log" >&2
    echo "install.sh: rustc did not report the native libraries (--print native-static-libs)" >&2
    exit 1
fi
version=$(sed -n 's/^version = "\([^"]*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
linker=
if [ "$(uname -s)" = Linux ]; then
    linker=" -Wl,--exclude-libs,ALL -Wl,--gc-sections"
fi

mkdir -p "$prefix/include" "$prefix/lib/pkgconfig"
prefix=$(cd "$prefix" && pwd)

# put SOURCE DESTINATION: copies under a temporary name, then renames.
put() {
    cp "$1" "$2.tmp.$$"
    chmod 644 "$2.tmp.$$"
    mv -f "$2.tmp.$$" "$2"
}
put "$root/spec/fezz.h" "$prefix/include/fezz.h"
put "$archive" "$prefix/lib/libfezz_abi.a"
cat >"$work/fezz.pc" <<EOF
prefix=$prefix
includedir=\${prefix}/include
libdir=\${prefix}/lib

Name: fezz
Description: The fezz C ABI and codec for function libraries (fezz.h, libfezz_abi.a)
Version: ${version:-0}
Cflags: -I\${includedir}
Libs: -L\${libdir} -lfezz_abi $native$linker
EOF
put "$work/fezz.pc" "$prefix/lib/pkgconfig/fezz.pc"
echo "install.sh: installed fezz $version ($profile) under $prefix; link with" \
    "\$(pkg-config --cflags --libs fezz), PKG_CONFIG_PATH=$prefix/lib/pkgconfig" >&2
