# Shared setup for the Pester tests: imports the module (the staged copy when build.ps1 passes
# AZCM_MODULE_PATH, else the source tree) and points it at a built azcm binary.
$repoRoot = Split-Path -Path (Split-Path -Path $PSScriptRoot -Parent) -Parent
$modulePath = $env:AZCM_MODULE_PATH
if (-not $modulePath) {
    $modulePath = Join-Path -Path $repoRoot -ChildPath 'powershell/AzcmAgent/AzcmAgent.psd1'
}
if (-not $env:AZCM_BINARY) {
    $exe = 'azcm'
    if ([System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT) {
        $exe = 'azcm.exe'
    }
    foreach ($configuration in @('debug', 'release')) {
        $candidate = Join-Path -Path $repoRoot -ChildPath ('target/{0}/{1}' -f $configuration, $exe)
        if (Test-Path -LiteralPath $candidate) {
            $env:AZCM_BINARY = $candidate
            break
        }
    }
}
Import-Module -Name $modulePath -Force -ErrorAction Stop

function New-TestStateRoot {
    # A fresh agent state root for one test: azcm re-roots all agent paths under AZCM_ROOT.
    param(
        [Parameter(Mandatory = $true)]
        [string]$Name
    )

    $root = Join-Path -Path ([System.IO.Path]::GetTempPath()) -ChildPath ('azcm-pester-{0}-{1}' -f $Name, [guid]::NewGuid())
    New-Item -ItemType Directory -Path $root -Force | Out-Null
    $env:AZCM_ROOT = $root
    $root
}
