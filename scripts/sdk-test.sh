#!/usr/bin/env bash
# Microsoft's own clients against the fake cloud: makes a venv with the SDKs pinned in
# tests/sdk/requirements.txt (from PyPI, or pip's cache) and runs tests/sdk.rs with it.
#
#   scripts/sdk-test.sh [--venv DIR]     (default: target/sdk-venv)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv=target/sdk-venv
[ "${1:-}" = "--venv" ] && venv="$2"
python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "sdk-test: no $python to make the venv with" >&2; exit 1; }

if [ ! -x "$venv/bin/python" ] || ! cmp -s tests/sdk/requirements.txt "$venv/requirements.txt"; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/sdk/requirements.txt
    cp tests/sdk/requirements.txt "$venv/requirements.txt"
fi
echo "sdk-test: $("$venv/bin/python" -m pip list --disable-pip-version-check 2>/dev/null | grep -E '^azure-(identity|mgmt-resource|mgmt-hybridcompute) ' | tr -s ' ' | paste -sd, -)"
AZCM_SDK_PYTHON="$PWD/$venv/bin/python" cargo test --test sdk -- --include-ignored
