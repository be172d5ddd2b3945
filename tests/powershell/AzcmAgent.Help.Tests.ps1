# Every exported cmdlet carries full help: synopsis, description, every parameter, examples
# that say what they do, outputs and links; about_AzcmAgent exists; tab completion offers
# clouds, regions, configuration properties and installed extensions.
BeforeDiscovery {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Common.ps1')
    $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
    $script:cmdlets = foreach ($command in (Get-Command -Module AzcmAgent -CommandType Function | Sort-Object -Property Name)) {
        @{
            Name       = $command.Name
            Parameters = @($command.Parameters.Keys | Where-Object { $common -notcontains $_ } | Sort-Object)
        }
    }
}

BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Common.ps1')
}

Describe 'Help of <Name>' -ForEach $script:cmdlets {
    BeforeAll {
        $script:help = Get-Help -Name $Name -Full
    }

    It 'has a synopsis and a description' {
        $script:help.Synopsis | Should -Not -BeNullOrEmpty
        $script:help.Synopsis | Should -Not -Match ('^\s*{0}' -f [regex]::Escape($Name)) -Because 'a synopsis PowerShell made up repeats the syntax'
        ($script:help.Description | Out-String).Trim().Length | Should -BeGreaterThan 40
    }

    It 'describes every parameter' {
        $described = @{}
        foreach ($parameter in @($script:help.Parameters.Parameter | Where-Object { $null -ne $_ })) {
            $described[$parameter.Name] = ($parameter.Description | Out-String).Trim()
        }
        foreach ($parameter in $Parameters) {
            $described[$parameter] | Should -Not -BeNullOrEmpty -Because "-$parameter of $Name needs a .PARAMETER"
        }
    }

    It 'has examples that say what they do' {
        $examples = @($script:help.Examples.Example)
        $examples.Count | Should -BeGreaterThan 0
        foreach ($example in $examples) {
            $example.Code | Should -Match $Name -Because 'an example runs the cmdlet'
            ($example.Remarks | Out-String).Trim().Length | Should -BeGreaterThan 15 -Because "an example of $Name explains itself"
        }
    }

    It 'names its output and links to about_AzcmAgent' {
        ($script:help.ReturnValues | Out-String).Trim() | Should -Not -BeNullOrEmpty
        @($script:help.RelatedLinks.NavigationLink | ForEach-Object { $_.LinkText }) | Should -Contain 'about_AzcmAgent'
    }
}

Describe 'about_AzcmAgent' {
    It 'is a help topic of the module' {
        $topic = Get-Help -Name about_AzcmAgent
        ($topic | Out-String) | Should -Match 'SHORT DESCRIPTION'
        ($topic | Out-String) | Should -Match 'Connect-AzcmAgent'
    }
}

Describe 'Tab completion' {
    BeforeAll {
        function Get-Completion {
            param([string]$Line)
            @((TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches | ForEach-Object { $_.CompletionText })
        }
    }

    It 'completes clouds' {
        Get-Completion -Line 'Connect-AzcmAgent -Cloud AzureU' | Should -Be @('AzureUSGovernment')
        @(Get-Completion -Line 'Test-AzcmConnectivity -Cloud Azure').Count | Should -Be 3
    }

    It 'completes the clouds of AZCM_CLOUD_FILE, and their regions' {
        $saved = $env:AZCM_CLOUD_FILE
        $file = Join-Path -Path $TestDrive -ChildPath 'clouds.json'
        $lab = @{ name = 'ContosoLab'; authority = 'https://login.contoso.lab'; resourceManager = 'https://management.contoso.lab'; audience = 'https://management.core.windows.net/'; portal = 'https://portal.contoso.lab'; regions = @('lab1', 'lab2') }
        Set-Content -LiteralPath $file -Value (@{ version = 1; clouds = @($lab) } | ConvertTo-Json -Depth 4)
        try {
            $env:AZCM_CLOUD_FILE = $file
            Get-Completion -Line 'Connect-AzcmAgent -Cloud Contoso' | Should -Be @('ContosoLab')
            @(Get-Completion -Line 'Connect-AzcmAgent -Cloud ') | Should -Be @('AzureCloud', 'AzureUSGovernment', 'AzureChinaCloud', 'ContosoLab')
            Get-Completion -Line 'Connect-AzcmAgent -Cloud ContosoLab -Location lab' | Should -Be @('lab1', 'lab2')
            # A broken file: azcm refuses it, the built-in clouds still complete.
            Set-Content -LiteralPath $file -Value '{ "version": 1, "clouds": [ { "name": "x" } ] }'
            @(Get-Completion -Line 'Connect-AzcmAgent -Cloud ') | Should -Be @('AzureCloud', 'AzureUSGovernment', 'AzureChinaCloud')
        } finally {
            $env:AZCM_CLOUD_FILE = $saved
        }
    }

    It 'completes the regions of the chosen cloud' {
        Get-Completion -Line 'Test-AzcmConnectivity -Location westeu' | Should -Contain 'westeurope'
        $government = Get-Completion -Line 'Connect-AzcmAgent -Cloud AzureUSGovernment -Location usgov'
        $government | Should -Contain 'usgovvirginia'
        Get-Completion -Line 'Connect-AzcmAgent -Location usgov' | Should -Not -Contain 'usgovvirginia'
    }

    It 'completes configuration properties' {
        Get-Completion -Line 'Set-AzcmConfig -Name proxy.' | Sort-Object | Should -Be @('proxy.bypass', 'proxy.url')
        Get-Completion -Line 'Get-AzcmConfig -Name extensions.a' | Should -Contain 'extensions.allowlist'
    }

    It 'completes the extensions installed on this machine' {
        $root = New-TestStateRoot -Name 'completion'
        $extensions = Join-Path -Path $root -ChildPath 'var/lib/waagent'
        foreach ($name in @('Microsoft.Azure.Monitor.AzureMonitorLinuxAgent-1.30.0', 'Microsoft.Azure.AzureDefenderForServers.MDE.Linux-1.0.5')) {
            $dir = Join-Path -Path $extensions -ChildPath $name
            New-Item -ItemType Directory -Path $dir -Force | Out-Null
            Set-Content -LiteralPath (Join-Path -Path $dir -ChildPath 'HandlerManifest.json') -Value '[{"version": 1.0, "handlerManifest": {"uninstallCommand": "echo uninstalled"}}]'
        }
        Get-Completion -Line 'Remove-AzcmExtension -Name Microsoft.Azure.Mon' | Should -Be @('Microsoft.Azure.Monitor.AzureMonitorLinuxAgent')
    }
}
