#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS each, one at a time, and prints per
# target: executions per second, coverage (libFuzzer's final cov/ft), and findings.
#
#   fuzz/run.sh [SECONDS] [TARGET...]     SECONDS defaults to 180
#
# Dictionary: fuzz/<target>.dict if there is one (manifest.dict), else fuzz/cbor.dict.
# One libFuzzer process at a time, single-threaded (no -jobs/-workers, no -fork): the machine
# is shared. Working corpora grow in fuzz/corpus/<target>/ (seeded from the generated seeds:
# built-in samples and spec/vectors/), fuzz/seeds/<target>/ and fuzz/regressions/<target>/ are
# read as extra corpora. Findings land in fuzz/artifacts/<target>/; logs in fuzz/logs/.
# Exits 1 if any target produced a finding. See fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")"
fuzz_dir=$PWD
root=$(cd .. && pwd)

seconds=${1:-180}
shift || true
if ! [[ $seconds =~ ^[0-9]+$ ]]; then
    echo "usage: fuzz/run.sh [SECONDS] [TARGET...]" >&2
    exit 2
fi

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
if ! rustup toolchain list | grep -q '^nightly'; then
    echo "== installing the nightly toolchain (cargo-fuzz needs -Zsanitizer)"
    rustup toolchain install nightly --profile minimal
fi

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

echo "== building the targets (cargo +nightly fuzz build)"
cargo +nightly fuzz build

echo "== writing generated seeds into fuzz/corpus/"
(cd "$root" && cargo run --quiet -p fezz-fuzz-oracles --bin fezz-fuzz-seeds -- "$fuzz_dir/corpus")

for target in "${targets[@]}"; do
    if [[ $target == runner_stdin ]]; then
        # The function library the runner target loads (see fezz_fuzz_oracles::runner).
        (cd "$root" && cargo build --quiet -p fezz-fixture-rust)
    fi
done

mkdir -p logs
summary=()
findings_total=0
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    corpora=("corpus/$target")
    for extra in "seeds/$target" "regressions/$target"; do
        [[ -d $extra ]] && corpora+=("$extra")
    done
    dict=cbor.dict
    [[ -f $target.dict ]] && dict=$target.dict
    log="logs/$target.log"
    before=$(ls "artifacts/$target")
    echo "== $target: ${seconds}s (log: fuzz/$log)"
    status=0
    cargo +nightly fuzz run "$target" "${corpora[@]}" -- \
        -max_total_time="$seconds" \
        -dict="$dict" \
        -print_final_stats=1 \
        -artifact_prefix="artifacts/$target/" \
        >"$log" 2>&1 || status=$?

    execs_per_sec=$(sed -n 's/^stat::average_exec_per_sec:[[:space:]]*//p' "$log" | tail -1)
    runs=$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*//p' "$log" | tail -1)
    # The last status line with coverage, e.g. "#1234 DONE cov: 812 ft: 3021 corp: ...".
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)
    new_files=$(comm -13 <(echo "$before") <(ls "artifacts/$target") | sed '/^$/d')
    new=$(printf '%s' "$new_files" | grep -c . || true)
    findings_total=$((findings_total + new))
    line=$(printf '%-16s %8s exec/s %12s runs   %-22s findings: %d' \
        "$target" "${execs_per_sec:-?}" "${runs:-?}" "${cov:-cov: ? ft: ?}" "$new")
    if [[ $new -gt 0 ]]; then
        line+=" ($(printf 'fuzz/artifacts/%s/%s ' "$target" $new_files))"
    fi
    if [[ $status -ne 0 && $new -eq 0 ]]; then
        line+="  (libFuzzer exited $status; see fuzz/$log)"
    fi
    summary+=("$line")
    echo "$line"
done

echo
echo "== summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
if [[ $findings_total -gt 0 ]]; then
    echo
    echo "findings: reproduce with: cd fuzz && cargo +nightly fuzz run TARGET artifacts/TARGET/FILE"
    echo "then copy the file to fuzz/regressions/TARGET/ (see fuzz/README.md)"
    exit 1
fi
