#!/usr/bin/env bash
# The Windows test tier: runs the integration tests that drive the binary against azcm.exe
# under Wine. Tests Wine cannot honestly host are listed, with the reason, in
# tests/wine-skips.txt. Prints how many Windows tests ran and how many were skipped.
#
#   scripts/windows-tier.sh [--profile release|dev]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

profile=release
[ "${1:-}" = "--profile" ] && profile="$2"

env_lines=$(scripts/cross-windows.sh --profile "$profile" --wine)
test_dir=$(sed -n 's/^AZCM_WINE_TEST_DIR=//p' <<<"$env_lines")
export WINEPREFIX=$(sed -n 's/^WINEPREFIX=//p' <<<"$env_lines")
export WINEDEBUG=-all WINEDLLOVERRIDES="bcryptprimitives=n,b;mscoree,mshtml="
export AZCM_TEST_BIN="$test_dir/azcm.exe" AZCM_TEST_WRAPPER=wine

echo "azcm.exe under Wine: $(wine "$AZCM_TEST_BIN" version 2>/dev/null | head -1)"

skip_args=()
skipped=0
while read -r name _; do
    case "$name" in ''|'#'*) continue ;; esac
    skip_args+=(--skip "$name")
    skipped=$((skipped + 1))
done < tests/wine-skips.txt

log=$(mktemp)
status=0
# Two at a time: Wine process start-up is slow and every test shares one wineserver.
cargo test --no-fail-fast --test json_contract --test config --test config_file --test state_files --test genkey \
    -- "${skip_args[@]}" --test-threads 2 2>&1 | tee "$log" || status=$?

ran=$(grep -E '^test result:' "$log" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/' | awk '{p+=$1; f+=$2} END {print p+f}')
failed=$(grep -E '^test result:' "$log" | sed -E 's/.* ([0-9]+) failed.*/\1/' | awk '{f+=$1} END {print f}')
echo "Windows tier: ${ran:-0} tests ran against azcm.exe under Wine (${failed:-0} failed), ${skipped} skipped (tests/wine-skips.txt)"
rm -f "$log"
exit "$status"
