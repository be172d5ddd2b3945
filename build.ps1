<#
.SYNOPSIS
Builds azcm and stages the AzcmAgent module as Publish-Module would ship it.

.DESCRIPTION
Builds the native azcm binary with cargo, then stages out/AzcmAgent/<version>/ with the module,
its format file, the licence, and the binaries under bin/<os>-<arch>/ (the native one, plus a
cross-built win-x64 azcm.exe when target/cross/x86_64-pc-windows-gnu holds one). With -Test, runs the
Rust test suite and the Pester tests in tests/powershell against the staged module; with -Pester,
the Pester tests only (CI runs the Rust suite once, on its own). Either prints
"Pester: N passed, N failed, N skipped" and fails when a test fails.
Runs on Windows PowerShell 5.1 and PowerShell 7, on Windows and Linux.

.EXAMPLE
./build.ps1 -Configuration Release -Test

Builds, stages, and runs cargo test and the Pester tests.

.EXAMPLE
./build.ps1 -Configuration Debug -Pester

Builds, stages, and runs the Pester tests only.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $false)]
    [ValidateSet('Debug', 'Release')]
    [string]$Configuration = 'Release',

    [Parameter(Mandatory = $false)]
    [switch]$Test,

    [Parameter(Mandatory = $false)]
    [switch]$Pester,

    [Parameter(Mandatory = $false)]
    [string]$OutputPath
)

$ErrorActionPreference = 'Stop'
$repoRoot = $PSScriptRoot
if (-not $OutputPath) {
    $OutputPath = Join-Path -Path $repoRoot -ChildPath 'out'
}

function Invoke-Checked {
    # Runs a native tool and stops the build when it fails.
    param(
        [Parameter(Mandatory = $true)]
        [string]$FilePath,

        [Parameter(Mandatory = $true)]
        [string[]]$ArgumentList
    )

    Write-Host ('> {0} {1}' -f $FilePath, ($ArgumentList -join ' '))
    & $FilePath @ArgumentList
    if ($LASTEXITCODE -ne 0) {
        throw ('{0} failed with exit code {1}' -f $FilePath, $LASTEXITCODE)
    }
}

$onWindows = [System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT
$exeName = 'azcm'
$os = 'linux'
if ($onWindows) {
    $exeName = 'azcm.exe'
    $os = 'win'
}
$arch = 'x64'
$runtimeInfo = 'System.Runtime.InteropServices.RuntimeInformation' -as [type]
if ($null -ne $runtimeInfo) {
    $arch = ([string]$runtimeInfo::OSArchitecture).ToLowerInvariant()
}

Push-Location -Path $repoRoot
try {
    $cargoArgs = @('build', '--locked', '--bin', 'azcm', '--bin', 'azcm-fakecloud')
    $profileDir = 'debug'
    if ($Configuration -eq 'Release') {
        $cargoArgs += '--release'
        $profileDir = 'release'
    }
    Invoke-Checked -FilePath 'cargo' -ArgumentList $cargoArgs
    # Where cargo put them: CARGO_TARGET_DIR or .cargo/config may move target/.
    $metadata = & cargo metadata --format-version 1 --no-deps | ConvertFrom-Json
    if ($LASTEXITCODE -ne 0 -or -not $metadata.target_directory) {
        throw 'cargo metadata did not say where cargo puts its builds'
    }
    $targetDir = $metadata.target_directory

    $manifestPath = Join-Path -Path $repoRoot -ChildPath 'powershell/AzcmAgent/AzcmAgent.psd1'
    $manifest = Import-PowerShellDataFile -Path $manifestPath
    $version = $manifest.ModuleVersion
    $stage = Join-Path -Path $OutputPath -ChildPath ('AzcmAgent/{0}' -f $version)
    if (Test-Path -LiteralPath $stage) {
        Remove-Item -LiteralPath $stage -Recurse -Force
    }
    New-Item -ItemType Directory -Path $stage -Force | Out-Null
    Copy-Item -Path (Join-Path -Path $repoRoot -ChildPath 'powershell/AzcmAgent/*') -Destination $stage -Recurse
    Copy-Item -LiteralPath (Join-Path -Path $repoRoot -ChildPath 'LICENSE') -Destination $stage

    $nativeBin = Join-Path -Path $stage -ChildPath ('bin/{0}-{1}' -f $os, $arch)
    New-Item -ItemType Directory -Path $nativeBin -Force | Out-Null
    Copy-Item -LiteralPath (Join-Path -Path $targetDir -ChildPath ('{0}/{1}' -f $profileDir, $exeName)) -Destination $nativeBin

    # The Windows binary cross-built on Linux (scripts/cross-windows.sh): this profile's, else
    # the other profile's, so a Debug stage still ships both platforms.
    $crossBuilt = $null
    foreach ($crossProfile in @($profileDir, 'release', 'debug')) {
        $candidate = Join-Path -Path $repoRoot -ChildPath ('target/cross/x86_64-pc-windows-gnu/{0}/azcm.exe' -f $crossProfile)
        if ($null -eq $crossBuilt -and (Test-Path -LiteralPath $candidate)) {
            $crossBuilt = $candidate
        }
    }
    if (-not $onWindows -and $null -ne $crossBuilt) {
        $winBin = Join-Path -Path $stage -ChildPath 'bin/win-x64'
        New-Item -ItemType Directory -Path $winBin -Force | Out-Null
        Copy-Item -LiteralPath $crossBuilt -Destination $winBin
    }
    Write-Host ('Staged AzcmAgent {0} in {1}' -f $version, $stage)

    if ($Test) {
        Invoke-Checked -FilePath 'cargo' -ArgumentList @('test', '--locked')
    }
    if ($Test -or $Pester) {
        $pesterModule = Get-Module -ListAvailable -Name Pester | Sort-Object -Property Version -Descending | Select-Object -First 1
        if ($null -eq $pesterModule -or $pesterModule.Version.Major -lt 5) {
            throw 'Pester 5 or later is needed for tests/powershell: Install-Module Pester -MinimumVersion 5.0 -Scope CurrentUser'
        }
        Import-Module -Name Pester -MinimumVersion 5.0
        $env:AZCM_MODULE_PATH = Join-Path -Path $stage -ChildPath 'AzcmAgent.psd1'
        $env:AZCM_BINARY = Join-Path -Path $nativeBin -ChildPath $exeName
        $fakeName = 'azcm-fakecloud'
        if ($onWindows) {
            $fakeName = 'azcm-fakecloud.exe'
        }
        $env:AZCM_FAKECLOUD = Join-Path -Path $targetDir -ChildPath ('{0}/{1}' -f $profileDir, $fakeName)
        $pesterConfig = New-PesterConfiguration
        $pesterConfig.Run.Path = Join-Path -Path $repoRoot -ChildPath 'tests/powershell'
        $pesterConfig.Run.Exit = $false
        $pesterConfig.Run.PassThru = $true
        $pesterConfig.Output.Verbosity = 'Detailed'
        $result = Invoke-Pester -Configuration $pesterConfig
        Write-Host ('Pester: {0} passed, {1} failed, {2} skipped' -f $result.PassedCount, $result.FailedCount, $result.SkippedCount)
        if ($result.FailedCount -gt 0) {
            throw ('{0} Pester test(s) failed' -f $result.FailedCount)
        }
    }
} finally {
    Pop-Location
}
