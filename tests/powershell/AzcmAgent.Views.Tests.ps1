# Every object type's default view renders with the columns an admin reads first.
BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Common.ps1')
    $script:fake = Start-TestFakeCloud
    New-TestStateRoot -Name 'views' | Out-Null

    function Get-View {
        param([Parameter(ValueFromPipeline = $true)] $InputObject)
        begin { $all = @() }
        process { $all += $InputObject }
        end { ($all | Out-String -Width 200) }
    }
}

AfterAll {
    Stop-TestFakeCloud -Fake $script:fake
}

Describe 'Default views' {
    It 'shows configuration settings as Name, Value, Source' {
        Get-AzcmConfig | Get-View | Should -Match '(?m)^Name\s+Value\s+Source\s*$'
    }

    It 'shows a property''s description as a list' {
        $view = Get-AzcmConfigInfo -Name proxy.bypass | Get-View
        foreach ($label in @('Name', 'Type', 'Allowed Values', 'Default')) {
            $view | Should -Match ('(?m)^{0}\s+: ' -f $label)
        }
    }

    It 'shows the version as Name, Version, Target, Git Revision' {
        Get-AzcmVersion | Get-View | Should -Match '(?m)^Name\s+Version\s+Target\s+Git Revision\s*$'
    }

    It 'shows a key pair as a list with its public key' {
        New-AzcmKeyPair | Get-View | Should -Match '(?m)^Public Key\s+: MIIB'
    }

    It 'shows agent properties as Name, Value' {
        Get-AzcmAgent -Property 'Agent Status' | Get-View | Should -Match '(?m)^Name\s+Value\s*$'
    }

    It 'shows endpoint checks as a table and the summary as a list' {
        $results = @(Test-AzcmConnectivity -Location $env:FAKE_LOCATION -Cloud $env:FAKE_CLOUD)
        $results | Where-Object { $_.PSObject.TypeNames[0] -eq 'AzcmAgent.EndpointCheck' } | Get-View | Should -Match '(?m)^UseCase\s+Endpoint\s+Reachable\s+Ok\s+Private\s+Route\s+TLS\s+ms\s+Stage\s*$'
        $results | Where-Object { $_.PSObject.TypeNames[0] -eq 'AzcmAgent.ConnectivitySummary' } | Get-View | Should -Match '(?m)^RequiredReachable\s+: \d+'
    }

    It 'shows a connection as ComputerName, Status, Resource (its name, not the whole id), Error' {
        $target = Get-TestFakeTarget
        $view = Connect-AzcmAgent -ServicePrincipalCredential (Get-TestFakeCredential) @target -Name 'pester-view' -WhatIf | Get-View
        $view | Should -Match '(?m)^ComputerName\s+Status\s+Resource\s+Error\s*$'
        $view | Should -Match 'WhatIf\s+pester-view'
        $view | Should -Not -Match '/subscriptions/'
    }

    It 'shows no PowerShell hashtable syntax, also as Format-List * and in a mixed stream' {
        $target = Get-TestFakeTarget
        $connection = Connect-AzcmAgent -ServicePrincipalCredential (Get-TestFakeCredential) @target -Name 'pester-words' -Confirm:$false
        try {
            $checks = @(Test-AzcmConnectivity -Location $env:FAKE_LOCATION -Cloud $env:FAKE_CLOUD)
            $agent = Get-AzcmAgent -WarningAction SilentlyContinue
            foreach ($shown in @(
                    ($connection | Format-List * | Out-String -Width 200),
                    ($agent | Format-List * | Out-String -Width 200),
                    ($checks | Format-List * | Out-String -Width 200),
                    # Endpoint rows first: the summary is then drawn out of band, with every property.
                    ($checks | Out-String -Width 200))) {
                $shown | Should -Not -Match '@\{'
            }
            ($connection | Format-List * | Out-String -Width 200) | Should -Match 'Services\s+: \{himdsd: not installed'
            ($agent | Format-List * | Out-String -Width 200) | Should -Match '(?m)^AzureVm\s+: no\s*$'
            ($checks | Out-String -Width 200) | Should -Match 'Skipped\s+: \{sqlTelemetry: only with --extensions sql'
            ($checks | Format-List * | Out-String -Width 200) | Should -Match 'Stages\s+: DNS ok \(\d+ ms\), TCP ok'
        } finally {
            Disconnect-AzcmAgent -ForceLocalOnly -Confirm:$false | Out-Null
        }
    }

    It 'shows extensions as Name, Version, State, Size' {
        Get-AzcmExtension | Get-View | Should -BeNullOrEmpty
        $dir = Join-Path -Path $env:AZCM_ROOT -ChildPath 'var/lib/waagent/Microsoft.Azure.Monitor.AzureMonitorLinuxAgent-1.30.0'
        New-Item -ItemType Directory -Path $dir -Force | Out-Null
        Set-Content -LiteralPath (Join-Path -Path $dir -ChildPath 'HandlerManifest.json') -Value '[{"version": 1.0, "handlerManifest": {"uninstallCommand": "echo uninstalled"}}]'
        Get-AzcmExtension | Get-View | Should -Match '(?m)^Name\s+Version\s+State\s+Size\s*$'
        # Sizes as people read them (KiB, MiB, GiB), not a byte count.
        [System.IO.File]::WriteAllBytes((Join-Path -Path $dir -ChildPath 'payload.bin'), (New-Object -TypeName byte[] -ArgumentList 3072))
        Get-AzcmExtension | Get-View | Should -Match '\b3\.\d KiB\s*$'
        Remove-AzcmExtension -Name 'Microsoft.Azure.Monitor.AzureMonitorLinuxAgent' -Confirm:$false | Get-View | Should -Match '(?m)^Name\s+Version\s+Removed\s+Uninstall\s+Error\s*$'
    }
}
