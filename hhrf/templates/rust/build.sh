#!/bin/sh
# Builds lib{{lib}}.so (cargo, release profile) and puts it next to fezz.json, or into OUT_DIR.
#
#   ./build.sh [OUT_DIR]
#
# Environment: PROFILE, the cargo profile (default release; `dev` for a debug build);
# CARGO_TARGET_DIR as cargo reads it (default ./target).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out_dir=${1:-$here}
profile=${PROFILE:-release}
cd "$here"

cargo build --lib --profile "$profile"

target=${CARGO_TARGET_DIR:-target}
case $profile in
    dev) profile_dir=debug ;;
    *) profile_dir=$profile ;;
esac
# A new name, then a rename: a runner loading the old library never sees a half-written one.
cp "$target/$profile_dir/lib{{lib}}.so" "$out_dir/.lib{{lib}}.so.tmp.$$"
mv -f "$out_dir/.lib{{lib}}.so.tmp.$$" "$out_dir/lib{{lib}}.so"
echo "build.sh: built $out_dir/lib{{lib}}.so" >&2
