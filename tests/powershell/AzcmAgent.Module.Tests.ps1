BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Common.ps1')
}

Describe 'AzcmAgent module' {
    It 'has a valid manifest that exports the public cmdlets' {
        $manifest = Test-ModuleManifest -Path $modulePath
        $manifest.ExportedFunctions.Keys | Should -Contain 'Get-AzcmConfig'
        $manifest.ExportedFunctions.Keys | Should -Contain 'New-AzcmKeyPair'
        (Get-Command -Module AzcmAgent).Count | Should -Be $manifest.ExportedFunctions.Count
    }

    It 'does not export its private helpers' {
        Get-Command -Name Invoke-AzcmNative -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}

Describe 'Get-AzcmVersion' {
    It 'reports the binary it runs and a version matching the module' {
        $version = Get-AzcmVersion
        $version.PSObject.TypeNames[0] | Should -Be 'AzcmAgent.Version'
        $version.Name | Should -Be 'azcm'
        $version.Version | Should -Be (Get-Module -Name AzcmAgent).Version.ToString()
        Test-Path -LiteralPath $version.Binary | Should -BeTrue
    }
}

Describe 'Get-AzcmLicense' {
    It 'returns the licence text' {
        Get-AzcmLicense | Should -Match 'MIT License'
    }
}

Describe 'New-AzcmKeyPair' {
    BeforeEach {
        $script:root = New-TestStateRoot -Name 'genkey'
    }

    It 'returns an RSA-2048 public key in ARM clientPublicKey form' {
        $pair = New-AzcmKeyPair
        $pair.PSObject.TypeNames[0] | Should -Be 'AzcmAgent.KeyPair'
        $pair.KeySize | Should -Be 2048
        $pair.PublicKey | Should -Match '^MIIBCgKCAQEA'
        Test-Path -LiteralPath $pair.PrivateKeyPath | Should -BeTrue
        ($pair | Out-String) | Should -Not -CMatch '-----BEGIN [A-Z ]*PRIVATE KEY-----'
    }

    It 'makes no key with -WhatIf' {
        New-AzcmKeyPair -WhatIf | Should -BeNullOrEmpty
        @(Get-ChildItem -LiteralPath $script:root -Recurse -File).Count | Should -Be 0
    }
}

Describe 'Invoker' {
    It 'raises AZCM0001 with a remediation when the binary is missing' {
        $saved = $env:AZCM_BINARY
        try {
            $env:AZCM_BINARY = Join-Path -Path ([System.IO.Path]::GetTempPath()) -ChildPath 'no-such-azcm'
            { Get-AzcmVersion } | Should -Throw -ErrorId 'AZCM0001,Get-AzcmVersion'
        } finally {
            $env:AZCM_BINARY = $saved
        }
    }
}
