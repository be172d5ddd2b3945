#!/usr/bin/env bash
# Builds every package (scripts/package.sh) and proves each by installing it: runs the ignored
# tests of tests/packages.rs with AZCM_DIST set. They install the .deb on this machine with dpkg
# and the MSI into a fresh Wine prefix, so they need root, Wine and mingw-w64 (the Windows
# tier's), and lintian, openssl and msitools, which this script installs when missing.
#
#   scripts/package-tests.sh [--profile release|dev] [--target-dir DIR]
#
# --target-dir: where cargo keeps the packaged (release) build, for this script's packages and
# the ones the tests build (CI passes the demo's, so nothing is compiled twice); the tests
# themselves build where cargo test always does.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

profile=release
package_target=${CARGO_TARGET_DIR:-$PWD/target}
while [ $# -gt 0 ]; do
    case "$1" in
        --profile) profile="$2"; shift 2 ;;
        --target-dir) package_target="$2"; shift 2 ;;
        *) echo "usage: $0 [--profile release|dev] [--target-dir DIR]" >&2; exit 2 ;;
    esac
done
export AZCM_PACKAGE_TARGET_DIR=$package_target

need=()
command -v lintian >/dev/null || need+=(lintian)
command -v openssl >/dev/null || need+=(openssl)
command -v msiextract >/dev/null || need+=(msitools)
command -v osslsigncode >/dev/null || need+=(osslsigncode)
command -v wine >/dev/null || need+=(wine64 wine)
command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}" >&2
    (apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; })
fi

dist=$(mktemp -d)
trap 'rm -rf "$dist"' EXIT
CARGO_TARGET_DIR="$package_target" scripts/package.sh --profile "$profile" --out "$dist" >/dev/null
(cd "$dist" && ls -l)
AZCM_DIST="$dist" cargo test --test packages -- --include-ignored --test-threads 1
