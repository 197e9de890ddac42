#!/usr/bin/env bash
# Builds the demo and serves it, from a fresh clone, in one command:
#
#   examples/serve.sh [hhrf args...]        e.g. examples/serve.sh --listen 127.0.0.1:8080
#
# 1. cargo build --release -p example_todosapi -p fezz-runner -p hhrf (and -p fezz-abi)
# 2. copies each function library into its folder under functions/ (next to its fezz.json);
#    also builds and deploys examples/hello-c and examples/hello-zig when their build.sh exists
# 3. execs target/release/hhrf with HHRF_ROOT set to the repository root, passing the
#    arguments through; hhrf runs the fezz-runner that sits next to it.
#
# Works from any directory. Honours CARGO_TARGET_DIR and FEZZ_RUNNER.
set -euo pipefail

root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"

# Resolve a relative CARGO_TARGET_DIR against the caller's directory, before leaving it.
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in
    /*) ;;
    *) target_dir="$PWD/$target_dir" ;;
esac
export CARGO_TARGET_DIR="$target_dir"

case "$(uname -s)" in
    Darwin) lib_ext=dylib ;;
    *) lib_ext=so ;;
esac

say() { printf 'serve.sh: %s\n' "$*" >&2; }

# Copies $1 into directory $2 under the same name. The copy goes to a temporary name first and
# is renamed over the old file, so a runner loading the old library never sees a half-written one.
deploy() {
    local source="$1" folder="$2"
    local name
    name="$(basename -- "$source")"
    if [[ ! -f "$folder/fezz.json" ]]; then
        say "error: $folder/fezz.json is missing"
        exit 1
    fi
    cp -- "$source" "$folder/.$name.tmp.$$"
    mv -f -- "$folder/.$name.tmp.$$" "$folder/$name"
    say "deployed ${folder#"$root"/}/$name"
}

cd "$root"

say "building (release): example_todosapi fezz-runner hhrf fezz-abi"
# fezz-abi for its static library libfezz_abi.a, which the C and Zig examples link.
cargo build --release -p example_todosapi -p fezz-runner -p hhrf -p fezz-abi

deploy "$target_dir/release/libexample_todosapi.$lib_ext" "$root/functions/todos@latest"

# The C and Zig hello examples, when present. Each build.sh builds its library and, given a
# folder, deploys it there with a copy of its fezz.json; the folder is functions/<id>@<version>
# from that fezz.json. A failing one is reported and skipped so the Rust demo still comes up
# (the Zig one needs `pip install ziglang==0.15.2` or FEZZ_ZIG).
manifest_field() { # manifest_field FILE NAME: the string value of "NAME" in a fezz.json
    sed -n "s/^[[:space:]]*\"$2\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p" "$1" | head -n 1
}
for example in hello-c hello-zig; do
    script="$root/examples/$example/build.sh"
    manifest="$root/examples/$example/fezz.json"
    [[ -f "$script" && -f "$manifest" ]] || continue
    folder="functions/$(manifest_field "$manifest" id)@$(manifest_field "$manifest" version)"
    say "building $example into $folder"
    # hello-zig links the archive named by FEZZ_ABI_LIB; hello-c installs the C SDK
    # (abi/install.sh) with the release profile when pkg-config finds no fezz.
    if ! FEZZ_ABI_LIB="$target_dir/release/libfezz_abi.a" FEZZ_PROFILE=release \
        sh "$script" "$root/$folder"; then
        say "warning: examples/$example/build.sh failed; serving without $example"
    fi
done

export HHRF_ROOT="$root"
say "starting hhrf with HHRF_ROOT=$root"
exec "$target_dir/release/hhrf" "$@"
