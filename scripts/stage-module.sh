#!/usr/bin/env bash
# The bash twin of build.ps1 for machines without pwsh: builds azcm and stages the AzcmAgent
# module in out/AzcmAgent/<version>/ exactly as build.ps1 does — module, format file, licence,
# bin/linux-<arch>/azcm, and bin/win-x64/azcm.exe when scripts/cross-windows.sh built one.
#
#   scripts/stage-module.sh [--profile release|dev] [--with-windows]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

profile=release
with_windows=false
while [ $# -gt 0 ]; do
    case "$1" in
        --profile) profile="$2"; shift 2 ;;
        --with-windows) with_windows=true; shift ;;
        *) echo "usage: $0 [--profile release|dev] [--with-windows]" >&2; exit 2 ;;
    esac
done
profile_dir=$profile
[ "$profile" = dev ] && profile_dir=debug

# shellcheck source=scripts/cargo-built.sh
. scripts/cargo-built.sh
built=$(cargo_built --locked --profile "$profile" --bin azcm)
native=$(built_path azcm)
if $with_windows; then
    scripts/cross-windows.sh --profile "$profile" >/dev/null
fi

version=$(sed -n "s/^[[:space:]]*ModuleVersion[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" powershell/AzcmAgent/AzcmAgent.psd1)
[ -n "$version" ] || { echo "no ModuleVersion in AzcmAgent.psd1" >&2; exit 1; }
case "$(uname -m)" in
    x86_64|amd64) arch=x64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) arch=$(uname -m) ;;
esac

stage="out/AzcmAgent/$version"
rm -rf "$stage"
mkdir -p "$stage/bin/linux-$arch"
cp -R powershell/AzcmAgent/. "$stage/"
cp LICENSE "$stage/"
install -m 0755 "$native" "$stage/bin/linux-$arch/azcm"
win_exe="target/cross/x86_64-pc-windows-gnu/$profile_dir/azcm.exe"
if [ -f "$win_exe" ]; then
    mkdir -p "$stage/bin/win-x64"
    cp "$win_exe" "$stage/bin/win-x64/azcm.exe"
fi
echo "Staged AzcmAgent $version in $stage:" >&2
(cd "$stage" && find . -type f | sort) >&2
echo "$stage"
