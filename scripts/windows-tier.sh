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

env_lines=$(scripts/cross-windows.sh --profile "$profile" --wine --clippy)
test_dir=$(sed -n 's/^AZCM_WINE_TEST_DIR=//p' <<<"$env_lines")
export WINEPREFIX=$(sed -n 's/^WINEPREFIX=//p' <<<"$env_lines")
export WINEDEBUG=-all WINEDLLOVERRIDES="bcryptprimitives=n,b;mscoree,mshtml="
# Wine converts each argument from the Unix locale's charset to UTF-16, as Windows hands a program
# its Unicode command line: with no locale set (a CI job's bare environment) every non-ASCII
# argument arrives mangled ("\u200e5a 5a …" became "b"). Windows users type Unicode.
export LC_ALL=C.UTF-8
export AZCM_TEST_BIN="$test_dir/azcm.exe" AZCM_TEST_WRAPPER=wine

# One persistent wineserver for the whole tier (faster process start), with the service
# control manager warmed up before the SCM tests talk to it; stopped on exit.
wineserver -w
wineserver -p
trap 'wineserver -k 2>/dev/null || true' EXIT
wine sc query AzcmTestService >/dev/null 2>&1 || true

echo "azcm.exe under Wine: $(wine "$AZCM_TEST_BIN" version 2>/dev/null | head -1)"

skip_args=()
skipped=0
while read -r name _; do
    case "$name" in ''|'#'*) continue ;; esac
    skip_args+=(--skip "$name")
    skipped=$((skipped + 1))
done < tests/wine-skips.txt

log=$(mktemp)
# Runs Wine failed to start (exit 1, no output) and the harness ran once more: see
# wine_start_failure in tests/common/mod.rs.
export AZCM_WINE_RERUN_LOG=$(mktemp)
status=0
# Integration tests that drive azcm.exe, one at a time: Wine's wineserver and service manager
# are shared by every process and flake under concurrent start-up and SCM calls.
cargo test --no-fail-fast --test json_contract --test config --test config_file --test state_files --test genkey --test onboarding --test check --test show --test extension --test logs --test hardening --test hostile --test offline_clouds --test dsc \
    -- "${skip_args[@]}" --test-threads 1 2>&1 | tee "$log" || status=$?

# Unit tests of the library built for Windows, run under Wine: the Windows platform code
# (known folders, DACLs, SCM against a dummy service registered in the prefix).
export AZCM_TEST_SERVICE=$(sed -n 's/^AZCM_TEST_SERVICE=//p' <<<"$env_lines")
unit_cmd=(env RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$PWD/target/cross"
    CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
    CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine
    /usr/bin/cargo test --locked --lib -Zbuild-std=std,panic_abort,test --target x86_64-pc-windows-gnu)
"${unit_cmd[@]}" --no-run >&2
cp "$test_dir/bcryptprimitives.dll" target/cross/x86_64-pc-windows-gnu/debug/deps/
unit_log=$(mktemp)
"${unit_cmd[@]}" -- "${skip_args[@]}" --test-threads 1 2>&1 | tee "$unit_log" || status=$?

count() { grep -E '^test result:' "$1" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/' | awk '{p+=$1; f+=$2} END {print p+f+0, f+0}'; }
read -r ran failed < <(count "$log")
read -r unit_ran unit_failed < <(count "$unit_log")
unit_skipped=$(grep -E '^test result:' "$unit_log" | sed -E 's/.* ([0-9]+) filtered out.*/\1/' | awk '{s+=$1} END {print s+0}')
int_skipped=$(grep -E '^test result:' "$log" | sed -E 's/.* ([0-9]+) filtered out.*/\1/' | awk '{s+=$1} END {print s+0}')
echo "Windows tier: ${ran} integration tests ran against azcm.exe under Wine (${failed} failed), ${int_skipped} skipped;" \
    "${unit_ran} Windows unit tests ran (${unit_failed} failed), ${unit_skipped} skipped (reasons: tests/wine-skips.txt);" \
    "$(wc -l <"$AZCM_WINE_RERUN_LOG") azcm.exe runs rerun after Wine failed to start them"
sed 's/^/  rerun: /' "$AZCM_WINE_RERUN_LOG"
rm -f "$log" "$unit_log" "$AZCM_WINE_RERUN_LOG"
exit "$status"
