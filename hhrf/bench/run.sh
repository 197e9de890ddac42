#!/usr/bin/env bash
# The fezz benchmark, one command (hhrf/bench/README.md):
#
#   bash hhrf/bench/run.sh [--quick] [fezz-bench options...]
#
# Installs wrk and lighttpd from Debian when missing, builds hhrf, fezz-runner and the
# benchmark driver in release mode and examples/hello-c against the release C SDK, then runs
# target/release/fezz-bench, which prints the table and writes results.json and results.svg
# into $CARGO_TARGET_DIR/bench (default target/bench). --quick is a seconds-long smoke run.
# Environment: CARGO_TARGET_DIR, CC.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}

if ! command -v wrk >/dev/null 2>&1 || ! { command -v lighttpd || [ -x /usr/sbin/lighttpd ]; } >/dev/null 2>&1 \
    || ! command -v cc >/dev/null 2>&1 || ! command -v pkg-config >/dev/null 2>&1; then
    echo "run.sh: installing wrk, lighttpd, a C compiler and pkg-config (apt-get)" >&2
    apt-get update -qq
    apt-get install -y -qq wrk lighttpd gcc libc6-dev pkg-config >/dev/null
fi
# The Debian package starts a lighttpd of its own on port 80; the benchmark starts its own.

echo "run.sh: building hhrf, fezz-runner and fezz-bench (release)" >&2
cargo build --release -p hhrf -p fezz-runner -p fezz-bench
echo "run.sh: building examples/hello-c against the release C SDK" >&2
FEZZ_PROFILE=release FEZZ_ASAN=0 PKG_CONFIG_PATH="$target/fezz-prefix/release/lib/pkgconfig" \
    sh examples/hello-c/build.sh "$target/bench/hello-c" >/dev/null
exec "$target/release/fezz-bench" --out "$target/bench" "$@"
