#!/usr/bin/env python3
"""Writes the WiX 3 source of azcm's MSI (built by msitools' wixl) for one staged payload.

Why generated: the module's files change from release to release, and wixl-heat gives
directories random Ids; here every Id and component GUID is derived from the file's install
path, so the same payload always gives the same MSI tables, and a component keeps its GUID
exactly as long as its path stays the same (Windows Installer's component rule).

    wxs.py --version 0.1.0 --bin DIR --module DIR > azcm.wxs

--bin holds azcm.exe (and the DSC manifests, LICENSE, share/ when present); --module is the
staged AzcmAgent/<version> folder without its bin/ (the module uses the one azcm.exe).
"""
import argparse
import hashlib
import os
import sys
import uuid
from xml.sax.saxutils import quoteattr

# Never changes: Windows Installer finds earlier azcm installs by it (major upgrades).
UPGRADE_CODE = "E8AC9AEA-58B6-4CF0-813A-A01D8747224F"
NAMESPACE = uuid.UUID(UPGRADE_CODE)
PROGRAM_FILES = "[ProgramFiles64Folder]"


def ident(prefix, path):
    return prefix + hashlib.sha256(path.encode()).hexdigest()[:32].upper()


def guid(path):
    return str(uuid.uuid5(NAMESPACE, path.lower())).upper()


def tree(root):
    """Relative file paths under root, sorted, with / separators."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            rel = os.path.relpath(os.path.join(dirpath, name), root)
            out.append(rel.replace(os.sep, "/"))
    return sorted(out)


def emit_dir(lines, root, install_prefix, files, indent, components, folders):
    """Directories and components for files (relative to root) in the current directory."""
    here = [f for f in files if "/" not in f]
    subdirs = sorted({f.split("/", 1)[0] for f in files if "/" in f})
    pad = " " * indent
    for name in here:
        install = f"{install_prefix}/{name}"
        cid = ident("cmp", install)
        components.append(cid)
        lines.append(f'{pad}<Component Id="{cid}" Guid="{guid(install)}" Win64="yes">')
        lines.append(
            f'{pad}  <File Id="{ident("fil", install)}" Name={quoteattr(name)} '
            f'Source={quoteattr(os.path.join(root, name))} KeyPath="yes"/>'
        )
        lines.append(f"{pad}</Component>")
    for sub in subdirs:
        install = f"{install_prefix}/{sub}"
        did = ident("dir", install)
        lines.append(f"{pad}<Directory Id={quoteattr(did)} Name={quoteattr(sub)}>")
        inner = [f.split("/", 1)[1] for f in files if f.startswith(sub + "/")]
        emit_dir(lines, os.path.join(root, sub), install, inner, indent + 2, components, folders)
        lines.append(f"{pad}</Directory>")
        folders.append((did, install))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--version", required=True)
    p.add_argument("--bin", required=True)
    p.add_argument("--module", required=True)
    a = p.parse_args()
    parts = a.version.split(".")
    if not (len(parts) == 3 and all(x.isdigit() and int(x) < 65536 for x in parts) and int(parts[0]) < 256):
        sys.exit(f"wxs.py: {a.version!r} is not a version an MSI can carry (major.minor.build)")

    components, folders = [], []
    install_dir = f"{PROGRAM_FILES}/azcm"
    module_dir = f"{PROGRAM_FILES}/WindowsPowerShell/Modules/AzcmAgent/{a.version}"
    bin_files = tree(a.bin)
    if "azcm.exe" not in bin_files:
        sys.exit("wxs.py: no azcm.exe in --bin")

    body = ['    <Directory Id="TARGETDIR" Name="SourceDir">',
            '      <Directory Id="ProgramFiles64Folder">',
            '        <Directory Id="INSTALLDIR" Name="azcm">']
    emit_dir(body, a.bin, install_dir, bin_files, 10, components, folders)
    body += ["        </Directory>",
             '        <Directory Id="WINDOWSPOWERSHELL" Name="WindowsPowerShell">',
             '          <Directory Id="PSMODULES" Name="Modules">',
             '            <Directory Id="AZCMAGENTMODULE" Name="AzcmAgent">',
             f'              <Directory Id="MODULEDIR" Name="{a.version}">']
    emit_dir(body, a.module, module_dir, tree(a.module), 16, components, folders)
    body += ["              </Directory>",
             "            </Directory>",
             "          </Directory>",
             "        </Directory>",
             "      </Directory>",
             "    </Directory>"]

    # Each folder of azcm's own has a component that removes it on uninstall once empty:
    # without one, Windows Installer leaves emptied parents behind. INSTALLDIR's also records
    # where azcm.exe is, for the module (HKLM\SOFTWARE\azcm InstallDir).
    cleanup = ['    <DirectoryRef Id="INSTALLDIR">',
               f'      <Component Id="cmpInstallDir" Guid="{guid(install_dir + "/")}" Win64="yes">',
               '        <RegistryValue Root="HKLM" Key="SOFTWARE\\azcm" Name="InstallDir" '
               'Type="string" Value="[INSTALLDIR]" KeyPath="yes"/>',
               '        <RemoveFolder Id="rmfInstallDir" On="uninstall"/>',
               "      </Component>",
               "    </DirectoryRef>"]
    components.append("cmpInstallDir")
    # WindowsPowerShell\Modules exists on every Windows, with Microsoft's modules in it, so
    # it is never empty there and stays; where the install created it (a bare machine, Wine),
    # the uninstall removes it again.
    own = [("WINDOWSPOWERSHELL", f"{PROGRAM_FILES}/WindowsPowerShell"),
           ("PSMODULES", f"{PROGRAM_FILES}/WindowsPowerShell/Modules"),
           ("AZCMAGENTMODULE", f"{PROGRAM_FILES}/WindowsPowerShell/Modules/AzcmAgent"),
           ("MODULEDIR", module_dir)] + folders
    for did, install in own:
        cid = ident("cmf", install)
        components.append(cid)
        cleanup += [f"    <DirectoryRef Id={quoteattr(did)}>",
                    f'      <Component Id="{cid}" Guid="{guid(install + "/")}" Win64="yes">',
                    "        <CreateFolder/>",
                    f'        <RemoveFolder Id={quoteattr(ident("rmf", install))} On="uninstall"/>',
                    "      </Component>",
                    "    </DirectoryRef>"]

    out = ['<?xml version="1.0" encoding="utf-8"?>',
           '<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">',
           f'  <Product Id="*" Name="azcm" Language="1033" Version="{a.version}" '
           f'Manufacturer="azcm project" UpgradeCode="{UPGRADE_CODE}">',
           '    <Package InstallerVersion="500" Compressed="yes" InstallScope="perMachine" '
           'Description="azcm: the Azure Connected Machine agent CLI and the AzcmAgent PowerShell module" '
           'Manufacturer="azcm project"/>',
           '    <MajorUpgrade DowngradeErrorMessage="A newer version of azcm is already installed. '
           'Uninstall it first to install this older one."/>',
           '    <Media Id="1" Cabinet="azcm.cab" EmbedCab="yes"/>',
           '    <Property Id="ARPNOMODIFY" Value="1"/>',
           '    <Property Id="ARPNOREPAIR" Value="1"/>',
           '    <Property Id="ARPCOMMENTS" Value="azcm command line and AzcmAgent PowerShell module for Azure Arc-enabled servers"/>',
           '    <CustomAction Id="SetInstallLocation" Property="ARPINSTALLLOCATION" Value="[INSTALLDIR]"/>',
           "    <InstallExecuteSequence>",
           '      <Custom Action="SetInstallLocation" After="CostFinalize"/>',
           "    </InstallExecuteSequence>"]
    out += body + cleanup
    out.append('    <Feature Id="Complete" Level="1" Title="azcm" AllowAdvertise="no" Absent="disallow">')
    out += [f'      <ComponentRef Id="{cid}"/>' for cid in components]
    out += ["    </Feature>", "  </Product>", "</Wix>"]
    print("\n".join(out))


if __name__ == "__main__":
    main()
