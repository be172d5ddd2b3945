#!/usr/bin/env bash
# Builds every package of azcm into dist/ (the bash twin of `build.ps1 -Package`):
#   azcm-<v>-x64.msi            per-machine MSI: %ProgramFiles%\azcm (on the system PATH) and the
#                               module in %ProgramFiles%\WindowsPowerShell\Modules\AzcmAgent\<v>
#   azcm_<v>_amd64.deb          /usr/bin/azcm, the module where PowerShell 7 finds it for all users
#   azcm-<v>-1.x86_64.rpm       the same files as the .deb
#   AzcmAgent.<v>.nupkg         the PowerShell Gallery package (Publish-PSResource)
#   azcm-<v>-<os>-x64.cdx.json  CycloneDX SBOMs of what each binary compiles in (cargo-cyclonedx)
#   SHA256SUMS
#
#   scripts/package.sh [--profile release|dev] [--out DIR] [--only KIND]... [--version X.Y.Z]
#                      [--sign-pfx FILE [--timestamp-url URL]]
#
# The version is Cargo.toml's (azcm version prints it; the module manifest must agree).
# --version builds the packages under another number, for a hotfix rebuild or to test upgrade
# paths (the binaries still report Cargo.toml's). --only (msi, deb, rpm, nupkg, sbom) builds
# some packages only. --sign-pfx signs azcm.exe and the MSI (Authenticode, osslsigncode); the
# PFX password comes from AZCM_SIGN_PASSWORD, else from the first line of stdin, never from an
# argument. Without --sign-pfx the packages are built unsigned, and the script says so.
# Tools it installs from Debian when missing (as root): wixl msitools dpkg-dev rpm osslsigncode;
# cargo-cyclonedx from crates.io; pwsh is pwsh on PATH or ../shared/tools/pwsh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD

profile=release
out=dist
only=()
version_override=
sign_pfx=
timestamp_url=
while [ $# -gt 0 ]; do
    case "$1" in
        --profile) profile="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --only) only+=("$2"); shift 2 ;;
        --version) version_override="$2"; shift 2 ;;
        --sign-pfx) sign_pfx="$2"; shift 2 ;;
        --timestamp-url) timestamp_url="$2"; shift 2 ;;
        *) echo "usage: $0 [--profile release|dev] [--out DIR] [--only msi|deb|rpm|nupkg|sbom]... [--version X.Y.Z] [--sign-pfx FILE [--timestamp-url URL]]" >&2; exit 2 ;;
    esac
done
wants() { [ ${#only[@]} -eq 0 ] || printf '%s\n' "${only[@]}" | grep -qx "$1"; }
for kind in "${only[@]}"; do
    case "$kind" in msi|deb|rpm|nupkg|sbom) ;; *) echo "package.sh: unknown package kind '$kind'" >&2; exit 2 ;; esac
done

# The tools, installed when missing (the same way scripts/cross-windows.sh installs its own).
need=()
if wants msi; then
    command -v wixl >/dev/null || need+=(wixl)
    command -v msibuild >/dev/null || need+=(msitools)
fi
if wants deb; then command -v dpkg-shlibdeps >/dev/null || need+=(dpkg-dev); fi
if wants rpm; then command -v rpmbuild >/dev/null || need+=(rpm); fi
if [ -n "$sign_pfx" ]; then command -v osslsigncode >/dev/null || need+=(osslsigncode); fi
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "package.sh needs these Debian packages (run as root to install them): ${need[*]}" >&2
        exit 1
    fi
    echo "installing: ${need[*]}" >&2
    (apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; })
fi
if wants sbom && ! cargo cyclonedx --version >/dev/null 2>&1; then
    # An unoptimised build: it compiles in half the time, and an SBOM takes it well under a second.
    cargo install cargo-cyclonedx --locked --version 0.5.9 --debug >&2
fi

# The signing password: never an argument (any user could read it in the process list).
sign_password=
if [ -n "$sign_pfx" ]; then
    [ -f "$sign_pfx" ] || { echo "package.sh: --sign-pfx $sign_pfx is not a file" >&2; exit 1; }
    if [ -n "${AZCM_SIGN_PASSWORD+set}" ]; then
        sign_password=$AZCM_SIGN_PASSWORD
    else
        IFS= read -r sign_password || true
    fi
fi

# One version, from Cargo.toml; the module manifest must say the same.
version=$(cargo metadata --format-version 1 --no-deps --locked |
    python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "azcm"))')
module_version=$(sed -n "s/^[[:space:]]*ModuleVersion[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" powershell/AzcmAgent/AzcmAgent.psd1)
if [ "$version" != "$module_version" ]; then
    echo "package.sh: Cargo.toml says $version but AzcmAgent.psd1 says $module_version: one version, in both" >&2
    exit 1
fi
pkg_version=${version_override:-$version}
if ! [[ "$pkg_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    echo "package.sh: --version $pkg_version is not major.minor.patch" >&2
    exit 2
fi

# The staged module, with the Linux binary and the cross-built azcm.exe.
stage=$(scripts/stage-module.sh --profile "$profile" --with-windows 2>/dev/null)
[ -x "$stage/bin/linux-x64/azcm" ] && [ -f "$stage/bin/win-x64/azcm.exe" ] ||
    { echo "package.sh: the stage $stage lacks a binary" >&2; exit 1; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The module once, as every package carries it: under the package's version, without binaries
# (each package installs one azcm, which the module finds).
module="$work/module"
cp -R "$stage" "$module"
rm -rf "$module/bin"
if [ "$pkg_version" != "$version" ]; then
    sed -i "s/^\([[:space:]]*ModuleVersion[[:space:]]*=[[:space:]]*\)'[^']*'/\1'$pkg_version'/" "$module/AzcmAgent.psd1"
fi

sign() { # sign IN: Authenticode-signs a PE or MSI file in place.
    local signed="$1.signed" ts=()
    [ -n "$timestamp_url" ] && ts=(-ts "$timestamp_url")
    osslsigncode sign -pkcs12 "$sign_pfx" -readpass <(printf '%s' "$sign_password") -h sha256 \
        -n "azcm" "${ts[@]}" -in "$1" -out "$signed" >/dev/null
    mv "$signed" "$1"
}
exe="$work/win/azcm.exe"
mkdir -p "$work/win"
cp "$stage/bin/win-x64/azcm.exe" "$exe"
if [ -n "$sign_pfx" ]; then
    sign "$exe"
    echo "signed azcm.exe with $sign_pfx" >&2
else
    echo "no --sign-pfx: azcm.exe and the MSI are not signed" >&2
fi
built=()

if wants msi; then
    msi_bin="$work/msi-bin"
    mkdir -p "$msi_bin"
    cp "$exe" LICENSE dsc/*.dsc.resource.json "$msi_bin/"
    msi="$out/azcm-$pkg_version-x64.msi"
    rm -f "$msi"
    # Sources relative to the work folder: wixl refuses absolute ones. fatal-warnings: wixl
    # otherwise drops attributes it does not know without a word.
    (cd "$work" && python3 "$repo/packaging/msi/wxs.py" --version "$pkg_version" --bin msi-bin --module module >azcm.wxs &&
        G_DEBUG=fatal-warnings wixl -a x64 -o "$msi" azcm.wxs)
    # What wixl 0.101 cannot say: the same version upgrades in place (a rebuild has a new
    # ProductCode), the install location is set before the Uninstall entry is written, and
    # azcm's folder goes first on the system PATH (its <Environment> aborts wixl).
    upgrade_code=$(sed -n 's/^UPGRADE_CODE = "\(.*\)"$/\1/p' packaging/msi/wxs.py)
    msibuild "$msi" \
        -q "DELETE FROM \`Upgrade\` WHERE \`ActionProperty\` = 'WIX_UPGRADE_DETECTED'" \
        -q "INSERT INTO \`Upgrade\` (\`UpgradeCode\`, \`VersionMax\`, \`Attributes\`, \`ActionProperty\`) VALUES ('{$upgrade_code}', '$pkg_version', 513, 'WIX_UPGRADE_DETECTED')" \
        -q "UPDATE \`CustomAction\` SET \`Type\` = 51 WHERE \`Action\` = 'SetInstallLocation'" \
        -q "UPDATE \`InstallExecuteSequence\` SET \`Sequence\` = 1001 WHERE \`Action\` = 'SetInstallLocation'" \
        -q "CREATE TABLE \`Environment\` (\`Environment\` CHAR(72) NOT NULL, \`Name\` CHAR(255) NOT NULL LOCALIZABLE, \`Value\` CHAR(255) LOCALIZABLE, \`Component_\` CHAR(72) NOT NULL PRIMARY KEY \`Environment\`)" \
        -q "INSERT INTO \`Environment\` (\`Environment\`, \`Name\`, \`Value\`, \`Component_\`) VALUES ('AzcmPath', '=-*PATH', '[INSTALLDIR];[~]', 'cmpInstallDir')" \
        -q "INSERT INTO \`InstallExecuteSequence\` (\`Action\`, \`Sequence\`) VALUES ('RemoveEnvironmentStrings', 3300)" \
        -q "INSERT INTO \`InstallExecuteSequence\` (\`Action\`, \`Sequence\`) VALUES ('WriteEnvironmentStrings', 5200)"
    [ -n "$sign_pfx" ] && sign "$msi"
    built+=("$(basename "$msi")")
fi

# The Linux file tree, shared by the .deb and the .rpm.
if wants deb || wants rpm; then
    root="$work/root"
    install -D -m 0755 "$stage/bin/linux-x64/azcm" "$root/usr/bin/azcm"
    # dsc finds resources by their manifests in the folders on PATH, beside the executable.
    install -m 0644 dsc/*.dsc.resource.json "$root/usr/bin/"
    # PowerShell 7 on Linux looks for all-users modules in /usr/local/share/powershell/Modules
    # (and in its own $PSHOME): there is no such folder under /usr/share.
    mod_dst="$root/usr/local/share/powershell/Modules/AzcmAgent/$pkg_version"
    mkdir -p "$mod_dst"
    cp -R "$module/." "$mod_dst/"
    rm -rf "$mod_dst/share"
    install -D -m 0644 "$stage/share/completions/azcm.bash" "$root/usr/share/bash-completion/completions/azcm"
    install -D -m 0644 "$stage/share/completions/_azcm" "$root/usr/share/zsh/vendor-completions/_azcm"
    install -D -m 0644 "$stage/share/completions/azcm.fish" "$root/usr/share/fish/vendor_completions.d/azcm.fish"
    mkdir -p "$root/usr/share/man/man1"
    gzip -9n <"$stage/share/man/man1/azcm.1" >"$root/usr/share/man/man1/azcm.1.gz"
    find "$root" -type d -exec chmod 0755 {} +
    find "$root" -type f ! -path '*/usr/bin/*' -exec chmod 0644 {} +
fi

if wants deb; then
    deb_root="$work/deb"
    cp -a "$root" "$deb_root"
    doc="$deb_root/usr/share/doc/azcm"
    mkdir -p "$doc" "$deb_root/usr/share/lintian/overrides" "$deb_root/DEBIAN"
    {
        echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
        echo "Upstream-Name: azcm"
        echo "Source: https://github.com/azcm/azcm"
        echo
        echo "Files: *"
        echo "Copyright: 2026 The azcm authors"
        echo "License: MIT"
        sed -n '3,$p' LICENSE | sed 's/^$/./; s/^/ /'
    } >"$doc/copyright"
    printf 'azcm (%s) unstable; urgency=medium\n\n  * Release %s.\n\n -- The azcm authors <azcm@users.noreply.github.com>  %s\n' \
        "$pkg_version" "$pkg_version" "$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")" |
        gzip -9n >"$doc/changelog.gz"
    cp packaging/deb/lintian-overrides "$deb_root/usr/share/lintian/overrides/azcm"
    chmod 0644 "$doc/copyright" "$doc/changelog.gz" "$deb_root/usr/share/lintian/overrides/azcm"
    # What azcm links against, as Debian's own tool reads it from the binary.
    mkdir -p "$work/shlibs/debian"
    printf 'Source: azcm\n\nPackage: azcm\nArchitecture: amd64\n' >"$work/shlibs/debian/control"
    depends=$(cd "$work/shlibs" && dpkg-shlibdeps -O "$deb_root/usr/bin/azcm" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
    [ -n "$depends" ] || { echo "package.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
    size=$(du -sk --exclude=DEBIAN "$deb_root" | cut -f1)
    sed -e "s/@VERSION@/$pkg_version/" -e "s/@DEPENDS@/$depends/" -e "s/@SIZE@/$size/" \
        packaging/deb/control >"$deb_root/DEBIAN/control"
    (cd "$deb_root" && find usr -type f -print0 | sort -z | xargs -0 md5sum >DEBIAN/md5sums)
    chmod 0644 "$deb_root/DEBIAN/control" "$deb_root/DEBIAN/md5sums"
    deb="$out/azcm_${pkg_version}_amd64.deb"
    dpkg-deb --root-owner-group -Zxz --build "$deb_root" "$deb" >/dev/null
    built+=("$(basename "$deb")")
fi

if wants rpm; then
    rpm_top="$work/rpmbuild"
    mkdir -p "$rpm_top"/{BUILD,RPMS,SPECS,SOURCES,BUILDROOT}
    install -D -m 0644 LICENSE "$root/usr/share/licenses/azcm/LICENSE"
    rpmbuild -bb --quiet packaging/rpm/azcm.spec \
        --define "_topdir $rpm_top" --define "azcm_version $pkg_version" --define "azcm_root $root" \
        >/dev/null
    rpm_file=$(find "$rpm_top/RPMS" -name '*.rpm' | head -1)
    cp "$rpm_file" "$out/"
    built+=("$(basename "$rpm_file")")
fi

if wants nupkg; then
    pwsh=$(command -v pwsh || true)
    [ -n "$pwsh" ] || { [ -x ../shared/tools/pwsh ] && pwsh=$(cd ../shared/tools && pwd)/pwsh; }
    [ -n "$pwsh" ] || { echo "package.sh: the gallery package needs pwsh (PATH or ../shared/tools/pwsh)" >&2; exit 1; }
    # The gallery module carries both binaries (it has no installer to put azcm on PATH).
    gallery="$work/gallery/AzcmAgent"
    mkdir -p "$work/gallery"
    cp -R "$module" "$gallery"
    mkdir -p "$gallery/bin/linux-x64" "$gallery/bin/win-x64"
    cp "$stage/bin/linux-x64/azcm" dsc/*.dsc.resource.json "$gallery/bin/linux-x64/"
    cp "$exe" dsc/*.dsc.resource.json "$gallery/bin/win-x64/"
    repository="$work/repository"
    mkdir -p "$repository" "$work/home"
    # A throwaway HOME: registering the folder repository writes the user's PSResourceGet settings.
    cat >"$work/publish.ps1" <<'PS1'
param([string]$Module, [string]$Repository)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Register-PSResourceRepository -Name 'azcm-dist' -Uri $Repository -Trusted
Publish-PSResource -Path $Module -Repository 'azcm-dist'
PS1
    (cd "$work" && HOME="$work/home" "$pwsh" -NoProfile -NonInteractive -File "$work/publish.ps1" \
        -Module "$gallery" -Repository "$repository" >/dev/null)
    cp "$repository/AzcmAgent.$pkg_version.nupkg" "$out/"
    built+=("AzcmAgent.$pkg_version.nupkg")
fi

if wants sbom; then
    # What each binary compiles in, for its own target: no dev- or build-dependencies.
    for pair in "linux x86_64-unknown-linux-gnu" "win x86_64-pc-windows-gnu"; do
        set -- $pair
        cargo cyclonedx --format json --spec-version 1.5 --describe binaries --no-build-deps \
            --target "$2" --quiet
        mv azcm_bin.cdx.json "$out/azcm-$pkg_version-$1-x64.cdx.json"
        rm -f fakecloud/azcm-fakecloud_bin.cdx.json
        built+=("azcm-$pkg_version-$1-x64.cdx.json")
    done
fi

# Every package in the folder, also those an earlier --only run left there.
(cd "$out" && find . -maxdepth 1 -type f ! -name 'SHA256SUMS*' -printf '%P\n' | sort | xargs -d '\n' sha256sum >SHA256SUMS.new &&
    mv SHA256SUMS.new SHA256SUMS)
echo "azcm $pkg_version packages in $out:" >&2
(cd "$out" && ls -l "${built[@]}" SHA256SUMS) >&2
echo "$out"
