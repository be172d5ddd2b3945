# Test-/Set-AzcmDesiredState on this machine: Microsoft's dsc (../shared/tools/dsc, or dsc on
# PATH) runs examples/arc-settings.dsc.yaml through azcm's Azcm/Settings resource, found beside
# the azcm the module runs.
BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Common.ps1')
    $script:savedPath = $env:PATH
    $tools = Join-Path -Path $repoRoot -ChildPath '../shared/tools'
    if (Test-Path -LiteralPath (Join-Path -Path $tools -ChildPath 'dsc')) {
        $env:PATH = (Resolve-Path -LiteralPath $tools).ProviderPath + [System.IO.Path]::PathSeparator + $env:PATH
    }
    $script:hasDsc = $null -ne (Get-Command -Name 'dsc' -CommandType Application -ErrorAction SilentlyContinue)
    if (-not $script:hasDsc -and $env:CI -eq 'true') {
        throw 'CI must run the desired-state tests: no dsc on PATH or in ../shared/tools'
    }
    $script:document = Join-Path -Path $repoRoot -ChildPath 'examples/arc-settings.dsc.yaml'
    $script:parameters = @{ proxyUrl = 'http://127.0.0.1:3128'; extensionAllowList = @('Microsoft.Azure.Monitor/AzureMonitorLinuxAgent') }
    # The module finds dsc's resources beside its azcm: the staged module has the manifests there.
    $script:manifestBeside = @(Get-ChildItem -Path (Split-Path -Path $env:AZCM_BINARY -Parent) -Filter '*.dsc.resource.json' -ErrorAction SilentlyContinue).Count -gt 0
}

AfterAll {
    $env:PATH = $script:savedPath
}

Describe 'Test-AzcmDesiredState and Set-AzcmDesiredState' -Skip:([System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT) {
    BeforeEach {
        if (-not $script:hasDsc -or -not $script:manifestBeside) {
            Set-ItResult -Skipped -Because 'needs dsc and the staged module (build.ps1 puts the manifests beside azcm)'
        }
        $script:root = New-TestStateRoot -Name 'dsc'
    }

    It 'tests, previews, converges and then finds nothing to do' {
        $before = @(Test-AzcmDesiredState -Path $script:document -Parameter $script:parameters)
        $before.Count | Should -Be 1
        $before[0].PSObject.TypeNames[0] | Should -Be 'AzcmAgent.DesiredState'
        $before[0].Resource | Should -Be 'Azure Arc agent settings'
        $before[0].Type | Should -Be 'Azcm/Settings'
        $before[0].Status | Should -Be 'Drifted'
        $before[0].InDesiredState | Should -BeFalse
        $before[0].DifferingProperties | Should -Be @('proxy.url', 'extensions.allowlist')

        $preview = @(Set-AzcmDesiredState -Path $script:document -Parameter $script:parameters -WhatIf)
        $preview[0].Status | Should -Be 'WouldChange'
        $preview[0].ChangedProperties | Should -Be @('proxy.url', 'extensions.allowlist')
        (Get-AzcmConfig -Name proxy.url).Value | Should -Be ''

        $set = @(Set-AzcmDesiredState -Path $script:document -Parameter $script:parameters -Confirm:$false)
        $set[0].Status | Should -Be 'Converged'
        (Get-AzcmConfig -Name proxy.url).Value | Should -Be 'http://127.0.0.1:3128'
        (Get-AzcmConfig -Name extensions.allowlist).Value | Should -Be @('Microsoft.Azure.Monitor/AzureMonitorLinuxAgent')

        $after = @(Test-AzcmDesiredState -Document (Get-Content -LiteralPath $script:document -Raw) -Parameter $script:parameters)
        $after[0].Status | Should -Be 'InDesiredState'
        $after[0].DifferingProperties.Count | Should -Be 0
    }

    It 'takes SecureString parameter values and keeps them off dsc''s command line' {
        $secure = ConvertTo-SecureString -String 'http://127.0.0.1:3129' -AsPlainText -Force
        $rows = @(Test-AzcmDesiredState -Path $script:document -Parameter @{ proxyUrl = $secure } -Debug 5>&1)
        $debug = @($rows | Where-Object { $_ -is [System.Management.Automation.DebugRecord] } | ForEach-Object { $_.Message }) -join "`n"
        $debug | Should -Match 'dsc --trace-format json config --parameters-file -'
        $debug | Should -Not -Match '3129'
        $result = @($rows | Where-Object { $_ -isnot [System.Management.Automation.DebugRecord] })
        $result[0].DifferingProperties | Should -Contain 'proxy.url'
    }

    It 'onboards with the onboard document against the fake cloud (a SecureString secret, never shown), then finds nothing to do' {
        $fake = Start-TestFakeCloud
        try {
            $secret = ConvertTo-SecureString -String $env:FAKE_CLIENT_SECRET -AsPlainText -Force
            $parameters = @{
                subscriptionId         = $env:FAKE_SUBSCRIPTION_ID
                resourceGroup          = $env:FAKE_RESOURCE_GROUP
                location               = $env:FAKE_LOCATION
                tenantId               = $env:FAKE_TENANT_ID
                cloud                  = $env:FAKE_CLOUD
                resourceName           = 'pester-dsc-01'
                servicePrincipalId     = $env:FAKE_CLIENT_ID
                servicePrincipalSecret = $secret
                tags                   = @{ env = 'test' }
            }
            $document = Join-Path -Path $repoRoot -ChildPath 'examples/arc-onboard.dsc.yaml'
            $output = @(Set-AzcmDesiredState -Path $document -Parameter $parameters -Confirm:$false -Debug 5>&1)
            $debug = @($output | Where-Object { $_ -is [System.Management.Automation.DebugRecord] } | ForEach-Object { $_.Message }) -join "`n"
            $rows = @($output | Where-Object { $_ -isnot [System.Management.Automation.DebugRecord] })
            ($debug + ($rows | Format-List * | Out-String)) | Should -Not -Match ([regex]::Escape($env:FAKE_CLIENT_SECRET))
            $rows.Count | Should -Be 2
            $connection = $rows | Where-Object { $_.Type -eq 'Azcm/Connection' }
            $connection.Status | Should -Be 'Converged'
            $connection.ChangedProperties | Should -Contain '_exist'
            $agentConfig = Get-ChildItem -Path $env:AZCM_ROOT -Recurse -Filter 'agentconfig.json'
            (Get-Content -LiteralPath $agentConfig.FullName -Raw | ConvertFrom-Json).ResourceName | Should -Be 'pester-dsc-01'

            # test needs no secret.
            $parameters.Remove('servicePrincipalSecret')
            $after = @(Test-AzcmDesiredState -Path $document -Parameter $parameters)
            @($after | ForEach-Object { $_.Status }) | Should -Be @('InDesiredState', 'InDesiredState')
        } finally {
            Stop-TestFakeCloud -Fake $fake
        }
    }

    It 'fails with the AZCM code the resource names, and writes nothing' {
        Set-AzcmConfig -Name config.mode -Value monitor -Confirm:$false
        $document = @'
$schema: https://aka.ms/dsc/schemas/v3/bundled/config/document.json
resources:
  - name: locked list
    type: Azcm/Settings
    properties:
      proxy.url: http://127.0.0.1:3128
      extensions.allowlist: [Microsoft.Azure.Monitor/AzureMonitorLinuxAgent]
'@
        $caught = $null
        try {
            Set-AzcmDesiredState -Document $document -Confirm:$false
        } catch {
            $caught = $_
        }
        $caught | Should -Not -BeNullOrEmpty
        $caught.FullyQualifiedErrorId | Should -Match '^AZCM0027'
        $caught.Exception.Message | Should -Match 'config.mode full'
        (Get-AzcmConfig -Name proxy.url).Value | Should -Be ''
    }

    It 'has a table view with the resource, its status and the differing properties' {
        $text = Test-AzcmDesiredState -Path $script:document -Parameter $script:parameters | Format-Table | Out-String
        $text | Should -Match 'Resource'
        $text | Should -Match 'Drifted'
        $text | Should -Match 'proxy\.url, extensions\.allowlist'
    }
}
