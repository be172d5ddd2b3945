#!/usr/bin/env bash
# Coverage-guided fuzzing of azcm's parsers (fuzz/fuzz_targets) with cargo fuzz and libFuzzer,
# on the stable toolchain: RUSTC_BOOTSTRAP=1 lets it take the nightly flags cargo fuzz passes.
#
#   scripts/fuzz.sh [--seconds N] [--dev] [TARGET...]
#
# Each target starts from its corpus in fuzz/corpus/<target> (left as it is: inputs found on the
# way go to a temporary folder) and runs N seconds (default 25) under AddressSanitizer. A crash,
# a panic, an input slower than 10 s or one needing over 1 GiB fails the run; libFuzzer leaves
# the input in fuzz/artifacts/<target>/ and prints how to replay it. --dev builds without
# optimisation: it compiles in under half the time (CI's smoke run: every corpus input replayed
# and a few seconds of new ones) and fuzzes about ten times slower, so long runs go without it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=25
profile=()
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --dev) profile=(--dev); shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) targets+=("$1"); shift ;;
    esac
done

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "installing cargo-fuzz 0.13.2 from crates.io" >&2
    cargo install cargo-fuzz --locked --version 0.13.2 >&2
fi
export RUSTC_BOOTSTRAP=1
cd fuzz
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
cargo fuzz build "${profile[@]}" --sanitizer address >&2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
for target in "${targets[@]}"; do
    mkdir -p "$work/$target"
    log="$work/$target.log"
    if cargo fuzz run "${profile[@]}" --sanitizer address "$target" "$work/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -max_len=65536 \
        -print_final_stats=1 >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        echo "fuzz $target: ${runs:-?} inputs in ${seconds} s, no crash"
    else
        failed=$((failed + 1))
        echo "fuzz $target: FAILED" >&2
        tail -40 "$log" >&2
    fi
done
echo "fuzzing: ${#targets[@]} targets, $failed failed"
[ "$failed" -eq 0 ]
