#!/bin/sh
# Builds this function and installs it as $HHRF_ROOT/functions/<id>@<version>/ (HHRF_ROOT
# defaults to the current folder), atomically: the new folder is built beside it under a
# dot name (hhrf skips those), then renamed into place. A running hhrf serves it after its
# next start.
#
#   ./deploy.sh
#
# The id and the version come from fezz.json; the build is ./build.sh OUT_DIR.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=${HHRF_ROOT:-.}

field() {
    sed -n "s/^ *\"$1\": *\"\\([^\"]*\\)\".*/\\1/p" "$here/fezz.json" | head -n 1
}
id=$(field id)
version=$(field version)
if [ -z "$id" ] || [ -z "$version" ]; then
    echo "deploy.sh: cannot read \"id\" and \"version\" from $here/fezz.json" >&2
    exit 1
fi

functions=$root/functions
mkdir -p "$functions"
final=$functions/$id@$version
new=$functions/.$id@$version.new.$$
old=$functions/.$id@$version.old.$$
trap 'rm -rf "$new" "$old"' EXIT
mkdir "$new"
"$here/build.sh" "$new"
cp "$here/fezz.json" "$new/fezz.json"
# rename(2) cannot replace a folder that has files: move the old one aside first (for that
# moment the function is absent, never half-written).
if [ -e "$final" ]; then
    mv "$final" "$old"
fi
mv "$new" "$final"
echo "deploy.sh: deployed $final" >&2
