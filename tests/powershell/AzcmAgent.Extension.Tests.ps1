BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Common.ps1')

    function New-TestExtension {
        # A handler folder in this platform's layout under the test state root.
        param(
            [Parameter(Mandatory = $true)]
            [string]$Name,

            [Parameter(Mandatory = $true)]
            [string]$Version
        )

        if ([System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT) {
            $dir = Join-Path -Path $env:AZCM_ROOT -ChildPath ('Packages/Plugins/{0}/{1}' -f $Name, $Version)
        } else {
            $dir = Join-Path -Path $env:AZCM_ROOT -ChildPath ('var/lib/waagent/{0}-{1}' -f $Name, $Version)
        }
        New-Item -ItemType Directory -Path (Join-Path -Path $dir -ChildPath 'status') -Force | Out-Null
        $manifest = '[{"version": 1.0, "handlerManifest": {"uninstallCommand": "echo uninstalled"}}]'
        Set-Content -LiteralPath (Join-Path -Path $dir -ChildPath 'HandlerManifest.json') -Value $manifest
        $status = '[{"status": {"status": "success", "operation": "Enable"}, "timestampUTC": "2026-11-20T10:00:00Z"}]'
        Set-Content -LiteralPath (Join-Path -Path $dir -ChildPath 'status/3.status') -Value $status
        $dir
    }
}

Describe 'Get-AzcmExtension and Remove-AzcmExtension' {
    BeforeEach {
        $script:root = New-TestStateRoot -Name 'extension'
    }

    It 'lists installed extensions with their state' {
        New-TestExtension -Name 'Contoso.Ops.Agent' -Version '1.2.3' | Out-Null
        $extensions = @(Get-AzcmExtension)
        $extensions.Count | Should -Be 1
        $extensions[0].PSObject.TypeNames[0] | Should -Be 'AzcmAgent.Extension'
        $extensions[0].Publisher | Should -Be 'Contoso.Ops'
        $extensions[0].State | Should -Be 'success'
    }

    It 'removes what the pipeline names, and nothing with -WhatIf' {
        $dir = New-TestExtension -Name 'Contoso.Ops.Agent' -Version '1.2.3'
        Get-AzcmExtension | Remove-AzcmExtension -WhatIf
        Test-Path -LiteralPath $dir | Should -BeTrue
        $removed = Get-AzcmExtension | Remove-AzcmExtension -Confirm:$false
        $removed.Removed | Should -BeTrue
        $removed.UninstallExitCode | Should -Be 0
        Test-Path -LiteralPath $dir | Should -BeFalse
    }

    It 'removes every extension with -All, and none with -All -WhatIf' {
        $first = New-TestExtension -Name 'Contoso.Ops.Agent' -Version '1.2.3'
        $second = New-TestExtension -Name 'Contoso.Ops.Monitor' -Version '2.0.0'
        Remove-AzcmExtension -All -WhatIf
        (Test-Path -LiteralPath $first) -and (Test-Path -LiteralPath $second) | Should -BeTrue
        $removed = @(Remove-AzcmExtension -All -Confirm:$false)
        $removed.Count | Should -Be 2
        @($removed | Where-Object Removed).Count | Should -Be 2
        @(Get-AzcmExtension).Count | Should -Be 0
    }

    It 'raises AZCM0023 for an extension that is not installed' {
        { Remove-AzcmExtension -Name 'Contoso.Ops.Nope' -Confirm:$false } | Should -Throw -ErrorId 'AZCM0023,Remove-AzcmExtension'
    }

    It 'checks the name with -WhatIf too, and says per extension what it would remove' {
        $dir = New-TestExtension -Name 'Microsoft.Azure.Monitor.AzureMonitorLinuxAgent' -Version '1.33.0'
        { Remove-AzcmExtension -Name 'Contoso.Ops.Nope' -WhatIf } | Should -Throw -ErrorId 'AZCM0023,Remove-AzcmExtension'
        # The type alone, as Microsoft's docs write it; the What if: line (written to the host,
        # so read from a child session's output) names the extension.
        $PSNativeCommandArgumentPassing = 'Standard'
        $manifest = Join-Path -Path (Get-Module -Name AzcmAgent).ModuleBase -ChildPath 'AzcmAgent.psd1'
        $command = "Import-Module -Name '{0}'; Remove-AzcmExtension -Name 'AzureMonitorLinuxAgent' -WhatIf" -f $manifest
        $lines = & (Get-Process -Id $PID).Path -NoProfile -NonInteractive -Command $command 2>&1 | Out-String
        $lines | Should -Match 'Remove the Azure Arc extension Microsoft\.Azure\.Monitor\.AzureMonitorLinuxAgent 1\.33\.0'
        Test-Path -LiteralPath $dir | Should -BeTrue
    }
}

Describe 'Export-AzcmLog' {
    BeforeEach {
        $script:root = New-TestStateRoot -Name 'logs'
    }

    It 'writes the archive and returns its FileInfo with the manifest summary' {
        $logDir = Join-Path -Path $env:AZCM_ROOT -ChildPath 'var/opt/azcmagent/log'
        if ([System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT) {
            $logDir = Join-Path -Path $env:AZCM_ROOT -ChildPath 'ProgramData/AzureConnectedMachineAgent/Log'
        }
        New-Item -ItemType Directory -Path $logDir -Force | Out-Null
        Set-Content -LiteralPath (Join-Path -Path $logDir -ChildPath 'himds.log') -Value 'client_secret=PESTERCANARY'
        $zip = Export-AzcmLog -Path $env:AZCM_ROOT
        $zip | Should -BeOfType ([System.IO.FileInfo])
        $zip.Name | Should -Match '^azcmagent-.*\.zip$'
        $zip.AzcmRedacted | Should -BeTrue
        $zip.AzcmRedactions | Should -BeGreaterThan 0
        Add-Type -AssemblyName System.IO.Compression.FileSystem
        $archive = [System.IO.Compression.ZipFile]::OpenRead($zip.FullName)
        try {
            ($archive.Entries | Where-Object FullName -EQ 'manifest.json') | Should -Not -BeNullOrEmpty
        } finally {
            $archive.Dispose()
        }
    }

    It 'writes nothing with -WhatIf' {
        $target = Join-Path -Path $env:AZCM_ROOT -ChildPath 'whatif.zip'
        Export-AzcmLog -Path $target -WhatIf
        Test-Path -LiteralPath $target | Should -BeFalse
    }
}
