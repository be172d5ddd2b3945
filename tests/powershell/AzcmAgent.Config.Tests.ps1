BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Common.ps1')
}

Describe 'Get-AzcmConfig' {
    BeforeEach {
        $script:root = New-TestStateRoot -Name 'get'
    }

    It 'lists every property with its default as typed objects' {
        $settings = @(Get-AzcmConfig)
        $settings.Count | Should -Be 12
        $settings[0].PSObject.TypeNames[0] | Should -Be 'AzcmAgent.ConfigSetting'
        ($settings | Where-Object Name -EQ 'extensions.agent.cpulimit').Value | Should -Be 5
        ($settings | Where-Object Name -EQ 'config.mode').Value | Should -Be 'full'
        ($settings | Where-Object Source -NE 'default').Count | Should -Be 0
    }

    It 'gets named properties, also from the pipeline' {
        $found = @('proxy.url', 'config.mode' | Get-AzcmConfig)
        $found.Name | Should -Be @('proxy.url', 'config.mode')
    }

    It 'rejects an unknown property before running azcm' {
        { Get-AzcmConfig -Name 'no.such.property' } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Get-AzcmConfig'
    }

    It 'has a table view with Name, Value and Source' {
        $text = Get-AzcmConfig | Format-Table | Out-String
        $text | Should -Match 'Name'
        $text | Should -Match 'Value'
        $text | Should -Match 'Source'
    }

    It 'raises AZCM0070 as a ReadError for a corrupt local configuration' {
        $configDir = Join-Path -Path $script:root -ChildPath 'var/opt/azcmagent'
        if ([System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT) {
            $configDir = Join-Path -Path $script:root -ChildPath 'ProgramData/AzureConnectedMachineAgent/Config'
        }
        New-Item -ItemType Directory -Path $configDir -Force | Out-Null
        Set-Content -LiteralPath (Join-Path -Path $configDir -ChildPath 'localconfig.json') -Value '{ broken'
        $caught = $null
        try {
            Get-AzcmConfig
        } catch {
            $caught = $_
        }
        $caught | Should -Not -BeNullOrEmpty
        $caught.FullyQualifiedErrorId | Should -Be 'AZCM0070,Get-AzcmConfig'
        $caught.CategoryInfo.Category | Should -Be 'ReadError'
        $caught.ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
    }
}

Describe 'Set-AzcmConfig' {
    BeforeEach {
        $script:root = New-TestStateRoot -Name 'set'
    }

    It 'sets a value and returns it with -PassThru' {
        $result = Set-AzcmConfig -Name proxy.url -Value 'http://proxy.contoso.corp:8080' -PassThru
        $result.Value | Should -Be 'http://proxy.contoso.corp:8080'
        $result.Source | Should -Be 'local'
        $result.Changed | Should -BeTrue
        (Get-AzcmConfig -Name proxy.url).Value | Should -Be 'http://proxy.contoso.corp:8080'
    }

    It 'refuses -Session with no session in it, rather than changing this machine' {
        # New-PSSession that opened nothing leaves $sessions empty.
        $sessions = @()
        { Set-AzcmConfig -Name proxy.url -Value 'http://proxy.contoso.corp:8080' -Session $sessions -Confirm:$false } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
        { Set-AzcmConfig -Name proxy.url -Value 'http://proxy.contoso.corp:8080' -Session $null -Confirm:$false } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
        { Get-AzcmConfig -Session $null } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
        (Get-AzcmConfig -Name proxy.url).Source | Should -Be 'default'
    }

    It 'takes Name and Value from the pipeline by property name (a settings file, another machine''s settings)' {
        $wanted = @(
            [pscustomobject]@{ Name = 'proxy.url'; Value = 'http://proxy.contoso.corp:3128' },
            [pscustomobject]@{ Name = 'extensions.enabled'; Value = 'false' }
        )
        $wanted | Set-AzcmConfig
        (Get-AzcmConfig -Name proxy.url).Value | Should -Be 'http://proxy.contoso.corp:3128'
        (Get-AzcmConfig -Name extensions.enabled).Value | Should -BeFalse
        $copied = Get-AzcmConfig -Name proxy.url | Set-AzcmConfig -PassThru
        $copied.Value | Should -Be 'http://proxy.contoso.corp:3128'
    }

    It 'returns nothing without -PassThru' {
        Set-AzcmConfig -Name extensions.enabled -Value $false | Should -BeNullOrEmpty
        (Get-AzcmConfig -Name extensions.enabled).Value | Should -BeFalse
    }

    It 'joins several values into one list and edits lists with -Add and -Remove' {
        Set-AzcmConfig -Name extensions.allowlist -Value 'A/B', 'C/D'
        Set-AzcmConfig -Name extensions.allowlist -Value 'E/F' -Add
        Set-AzcmConfig -Name extensions.allowlist -Value 'C/D' -Remove
        (Get-AzcmConfig -Name extensions.allowlist).Value | Should -Be @('A/B', 'E/F')
    }

    It 'changes nothing with -WhatIf' {
        Set-AzcmConfig -Name proxy.url -Value 'http://p:3128' -WhatIf
        (Get-AzcmConfig -Name proxy.url).Source | Should -Be 'default'
    }

    It 'raises AZCM0023 as InvalidArgument for a bad value' {
        $caught = $null
        try {
            Set-AzcmConfig -Name extensions.agent.cpulimit -Value 500
        } catch {
            $caught = $_
        }
        $caught.FullyQualifiedErrorId | Should -Be 'AZCM0023,Set-AzcmConfig'
        $caught.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $caught.Exception.Message | Should -Match 'AZCM0023'
    }

    It 'raises AZCM0027 for a monitor-mode conflict' {
        Set-AzcmConfig -Name config.mode -Value monitor
        { Set-AzcmConfig -Name extensions.allowlist -Value 'A/B' } | Should -Throw -ErrorId 'AZCM0027,Set-AzcmConfig'
    }

    It 'replays azcm warnings as PowerShell warnings' {
        Set-AzcmConfig -Name proxy.bypass -Value AAD -WarningVariable warned -WarningAction SilentlyContinue
        $warned.Count | Should -Be 1
        [string]$warned[0] | Should -Match 'proxy.url'
    }

    It 'replays azcm verbose output with -Verbose' {
        $stream = Set-AzcmConfig -Name proxy.url -Value 'http://p:1' -Verbose 4>&1
        ($stream | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Count | Should -BeGreaterThan 0
    }
}

Describe 'Clear-AzcmConfig' {
    BeforeEach {
        $script:root = New-TestStateRoot -Name 'clear'
    }

    It 'resets locally set properties taken from the pipeline' {
        Set-AzcmConfig -Name proxy.url -Value 'http://p:1'
        Set-AzcmConfig -Name extensions.agent.cpulimit -Value 50
        Get-AzcmConfig | Where-Object Source -EQ 'local' | Clear-AzcmConfig
        @(Get-AzcmConfig | Where-Object Source -EQ 'local').Count | Should -Be 0
    }

    It 'changes nothing with -WhatIf' {
        Set-AzcmConfig -Name proxy.url -Value 'http://p:1'
        Clear-AzcmConfig -Name proxy.url -WhatIf
        (Get-AzcmConfig -Name proxy.url).Source | Should -Be 'local'
    }
}

Describe 'Get-AzcmConfigInfo' {
    It 'describes every property with its default and an example' {
        $info = @(Get-AzcmConfigInfo)
        $info.Count | Should -Be 12
        $info[0].PSObject.TypeNames[0] | Should -Be 'AzcmAgent.ConfigPropertyInfo'
        ($info | Where-Object Name -EQ 'extensions.allowlist').SupportsAddRemove | Should -BeTrue
        ($info | Where-Object { -not $_.Example }).Count | Should -Be 0
    }
}
