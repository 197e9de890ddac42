#!/bin/sh
# Runs the tests in function.zig with `zig test` (the same modules and link line as the build).
#
#   ./test.sh
#
# Environment: build.sh's.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
FEZZ_ZIG_TEST=1 exec "$here/build.sh"
