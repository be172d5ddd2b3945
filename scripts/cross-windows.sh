#!/usr/bin/env bash
# Builds azcm.exe for x86_64-pc-windows-gnu on these Linux machines, and (with --wine) prepares
# a Wine prefix and the test-only ProcessPrng shim so the Windows test tier can run it.
#
#   scripts/cross-windows.sh [--profile release|dev] [--wine] [--clippy]
#
# --clippy also lints the Windows build (library, binary, tests) with Debian's clippy, warnings
# as errors: the cfg(windows) code is not seen by the Linux clippy run.
# Prints the path of azcm.exe (and of the Wine test folder with --wine) as KEY=value lines.
# Route: Debian's rustc-web (its std sources allow -Zbuild-std) + mingw-w64 as the linker.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

profile=release
wine=false
clippy=false
while [ $# -gt 0 ]; do
    case "$1" in
        --profile) profile="$2"; shift 2 ;;
        --wine) wine=true; shift ;;
        --clippy) clippy=true; shift ;;
        *) echo "usage: $0 [--profile release|dev] [--wine] [--clippy]" >&2; exit 2 ;;
    esac
done

need=()
[ -x /usr/bin/rustc ] && /usr/bin/rustc --version | grep -q . || need+=(rustc-web)
[ -d /usr/lib/rustlib/src/rust/library ] || need+=(rust-web-src)
[ -x /usr/bin/cargo ] || need+=(cargo-web)
command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64)
if $wine; then
    command -v wine >/dev/null || need+=(wine64 wine)
fi
if $clippy; then
    [ -x /usr/bin/cargo-clippy ] || need+=(rust-web-clippy)
fi
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}" >&2
    if [ "$(id -u)" -ne 0 ]; then
        echo "cross-windows.sh needs these Debian packages (run as root to install): ${need[*]}" >&2
        exit 1
    fi
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi

target=x86_64-pc-windows-gnu
target_dir="$PWD/target/cross"
profile_dir=$profile
[ "$profile" = dev ] && profile_dir=debug

# Debian's cargo and rustc, explicitly: rustup's rustc has no std sources for this target.
RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$target_dir" \
    CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc \
    /usr/bin/cargo build --locked --profile "$profile" --bin azcm \
    -Zbuild-std=std,panic_abort --target "$target" >&2

exe="$target_dir/$target/$profile_dir/azcm.exe"
echo "AZCM_EXE=$exe"

if $clippy; then
    # Debian's cargo-clippy first on PATH: rustup's proxy would pick rustup's toolchain.
    PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$target_dir" \
        /usr/bin/cargo clippy --locked --lib --bins --tests \
        -Zbuild-std=std,panic_abort,test --target "$target" -- -D warnings >&2
    echo "Windows clippy: no warnings" >&2
fi

if $wine; then
    test_dir="$target_dir/wine-test"
    mkdir -p "$test_dir"
    x86_64-w64-mingw32-gcc -O2 -shared -o "$test_dir/bcryptprimitives.dll" \
        scripts/wine-shim/processprng.c scripts/wine-shim/bcryptprimitives.def -ladvapi32
    cp "$exe" "$test_dir/azcm.exe"
    export WINEPREFIX="$target_dir/wineprefix" WINEDEBUG=-all WINEDLLOVERRIDES="bcryptprimitives=n,b;mscoree,mshtml="
    if [ ! -f "$WINEPREFIX/system.reg" ]; then
        wineboot --init >/dev/null 2>&1 || true
        wineserver --wait || true
    fi
    # A dummy Windows service for the SCM unit tests, registered once per prefix.
    x86_64-w64-mingw32-gcc -O2 -o "$test_dir/dummy-service.exe" scripts/wine-shim/dummy-service.c
    if ! wine sc query AzcmTestService >/dev/null 2>&1; then
        wine sc create AzcmTestService binpath= "Z:${test_dir//\//\\}\\dummy-service.exe" start= demand >/dev/null
    fi
    echo "AZCM_WINE_TEST_DIR=$test_dir"
    echo "AZCM_TEST_SERVICE=AzcmTestService"
    echo "WINEPREFIX=$WINEPREFIX"
fi
