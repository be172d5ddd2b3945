function Resolve-AzcmBinary {
    # Finds the azcm binary: $env:AZCM_BINARY, then beside the module for this OS and
    # architecture (bin/<rid>/), then the module folder itself, then where the MSI installed
    # azcm.exe (HKLM\SOFTWARE\azcm InstallDir: a session started before the install still
    # has the old PATH), then PATH (the .deb and .rpm put azcm in /usr/bin).
    [CmdletBinding()]
    [OutputType([string])]
    param()

    if ($env:AZCM_BINARY) {
        if (Test-Path -LiteralPath $env:AZCM_BINARY -PathType Leaf) {
            return (Resolve-Path -LiteralPath $env:AZCM_BINARY).ProviderPath
        }
        throw ('AZCM_BINARY names {0}, which does not exist.' -f $env:AZCM_BINARY)
    }

    $onWindows = [System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT
    $exeName = 'azcm'
    if ($onWindows) {
        $exeName = 'azcm.exe'
    }

    $arch = 'x64'
    $runtimeInfo = 'System.Runtime.InteropServices.RuntimeInformation' -as [type]
    if ($null -ne $runtimeInfo) {
        $arch = ([string]$runtimeInfo::OSArchitecture).ToLowerInvariant()
    } elseif ($env:PROCESSOR_ARCHITEW6432 -eq 'ARM64' -or $env:PROCESSOR_ARCHITECTURE -eq 'ARM64') {
        $arch = 'arm64'
    }
    $os = 'linux'
    if ($onWindows) {
        $os = 'win'
    } elseif (Test-Path -LiteralPath '/System/Library/CoreServices' -PathType Container) {
        $os = 'osx'
    }

    $moduleRoot = Split-Path -Path $PSScriptRoot -Parent
    $candidates = @(
        (Join-Path -Path $moduleRoot -ChildPath ('bin/{0}-{1}/{2}' -f $os, $arch, $exeName)),
        (Join-Path -Path $moduleRoot -ChildPath ('bin/{0}' -f $exeName)),
        (Join-Path -Path $moduleRoot -ChildPath $exeName)
    )
    foreach ($candidate in $candidates) {
        if (Test-Path -LiteralPath $candidate -PathType Leaf) {
            Repair-AzcmExecutable -Path $candidate
            return $candidate
        }
    }

    if ($onWindows) {
        $installed = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\azcm' -Name 'InstallDir' -ErrorAction SilentlyContinue
        if ($null -ne $installed -and $installed.InstallDir) {
            $candidate = Join-Path -Path $installed.InstallDir -ChildPath $exeName
            if (Test-Path -LiteralPath $candidate -PathType Leaf) {
                return $candidate
            }
        }
    }

    $onPath = Get-Command -Name $exeName -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($null -ne $onPath) {
        return $onPath.Source
    }
    throw ('The azcm binary was not found beside the module ({0}) or on PATH. Install the module with its binaries, or set AZCM_BINARY.' -f ($candidates -join ', '))
}
