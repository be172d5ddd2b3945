BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Common.ps1')

    $script:fake = Start-TestFakeCloud
    $script:credential = Get-TestFakeCredential
    $script:target = Get-TestFakeTarget
}

AfterAll {
    Stop-TestFakeCloud -Fake $script:fake
}

Describe 'Connect-AzcmAgent and Disconnect-AzcmAgent' {
    BeforeEach {
        $script:root = New-TestStateRoot -Name 'onboard'
    }

    It 'connects with a service principal credential and is idempotent' {
        $result = Connect-AzcmAgent -ServicePrincipalCredential $script:credential @script:target -Name 'pester-01' -Tag @{ Owner = 'Ops Team' }
        $result.PSObject.TypeNames[0] | Should -Be 'AzcmAgent.Connection'
        $result.Status | Should -Be 'Connected'
        $result.ResourceId | Should -Match '/machines/pester-01$'
        $again = Connect-AzcmAgent -ServicePrincipalCredential $script:credential @script:target -Name 'pester-01'
        $again.Status | Should -Be 'AlreadyConnected'
        $gone = Disconnect-AzcmAgent -ServicePrincipalCredential $script:credential -TenantId $env:FAKE_TENANT_ID -Confirm:$false
        $gone.Status | Should -Be 'Disconnected'
    }

    It 'reports what it would do with -WhatIf and changes nothing' {
        $plan = Connect-AzcmAgent -ServicePrincipalCredential $script:credential @script:target -Name 'pester-02' -WhatIf
        $plan.Status | Should -Be 'WhatIf'
        ($plan.Actions | Where-Object action -EQ 'createMachine') | Should -Not -BeNullOrEmpty
        # Not connected: the mirror of AlreadyConnected, not an error (azcm itself keeps AZCM0063).
        (Disconnect-AzcmAgent -ForceLocalOnly -Confirm:$false).Status | Should -Be 'NotConnected'
        (Disconnect-AzcmAgent -ServicePrincipalCredential $script:credential -TenantId $env:FAKE_TENANT_ID -Confirm:$false).Status | Should -Be 'NotConnected'
    }

    It 'prints one What if: line per planned change, and returns the plan as readable rows' {
        $plan = Connect-AzcmAgent -ServicePrincipalCredential $script:credential @script:target -Name 'pester-plan' -WhatIf
        $create = 'Create machine pester-plan in resource group {0} ({1})' -f $env:FAKE_RESOURCE_GROUP, $env:FAKE_LOCATION
        @($plan.Actions | ForEach-Object { $_.Description }) | Should -Contain $create
        ($plan | Format-List | Out-String -Width 400) | Should -Not -Match '@\{action='
        ($plan | Format-List | Out-String -Width 400) | Should -Match ([regex]::Escape($create))
        # "What if:" lines go to the host: read them from a child session's output.
        $PSNativeCommandArgumentPassing = 'Standard'
        $manifest = Join-Path -Path (Get-Module -Name AzcmAgent).ModuleBase -ChildPath 'AzcmAgent.psd1'
        $command = ("`$s = ConvertTo-SecureString -String `$env:FAKE_CLIENT_SECRET -AsPlainText -Force; " +
            "`$c = New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList `$env:FAKE_CLIENT_ID, `$s; " +
            "Import-Module -Name '{0}'; " +
            "Connect-AzcmAgent -ServicePrincipalCredential `$c -TenantId `$env:FAKE_TENANT_ID -SubscriptionId `$env:FAKE_SUBSCRIPTION_ID -ResourceGroupName `$env:FAKE_RESOURCE_GROUP -Location `$env:FAKE_LOCATION -Cloud `$env:FAKE_CLOUD -Name pester-plan -WhatIf | Out-Null") -f $manifest
        $lines = & (Get-Process -Id $PID).Path -NoProfile -NonInteractive -Command $command 2>&1 | Out-String
        $lines | Should -Match ('What if: Performing the operation "{0}"' -f [regex]::Escape($create))
    }

    It 'raises AZCM0041 as an AuthenticationError for a wrong secret' {
        $wrong = New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList $env:FAKE_CLIENT_ID, (ConvertTo-SecureString -String 'wrong' -AsPlainText -Force)
        $caught = $null
        try {
            Connect-AzcmAgent -ServicePrincipalCredential $wrong @script:target -Name 'pester-03'
        } catch {
            $caught = $_
        }
        $caught.FullyQualifiedErrorId | Should -Be 'AZCM0041,Connect-AzcmAgent'
        $caught.CategoryInfo.Category | Should -Be 'AuthenticationError'
        $caught.Exception.Message | Should -Not -Match ([regex]::Escape($env:FAKE_CLIENT_SECRET))
    }

    It 'raises AZCM0068 as ObjectNotFound, naming -SubscriptionId, for a subscription nobody has' {
        $wrongTarget = $script:target.Clone()
        $wrongTarget.SubscriptionId = '00000000-0000-0000-0000-0000000000aa'
        $caught = $null
        try {
            Connect-AzcmAgent -ServicePrincipalCredential $script:credential @wrongTarget -Name 'pester-06'
        } catch {
            $caught = $_
        }
        $caught.FullyQualifiedErrorId | Should -Be 'AZCM0068,Connect-AzcmAgent'
        $caught.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $caught.ErrorDetails.RecommendedAction | Should -Match '-SubscriptionId'
        $caught.TargetObject | Should -Match '00000000-0000-0000-0000-0000000000aa'
        $caught.Exception.Data['AzcmRemediation'] | Should -Match 'subscription-id'
    }

    It 'shows the binary''s progress with Write-Progress, forward to 100, then completes it' {
        Mock Write-Progress -ModuleName AzcmAgent
        Connect-AzcmAgent -ServicePrincipalCredential $script:credential @script:target -Name 'pester-07' | Out-Null
        Should -Invoke Write-Progress -ModuleName AzcmAgent -ParameterFilter { $Activity -eq 'Connect' -and $PercentComplete -eq 0 } -Times 1 -Exactly
        Should -Invoke Write-Progress -ModuleName AzcmAgent -ParameterFilter { $Activity -eq 'Connect' -and $PercentComplete -eq 100 } -Times 1 -Exactly
        Should -Invoke Write-Progress -ModuleName AzcmAgent -ParameterFilter { $Completed } -Times 1 -Exactly
        Disconnect-AzcmAgent -ForceLocalOnly -Confirm:$false | Out-Null
    }

    It 'signs in with a device code, showing the code as information' {
        $result = Connect-AzcmAgent -UseDeviceCode @script:target -Name 'pester-04' -InformationVariable prompts
        $result.Status | Should -Be 'Connected'
        ($prompts | Out-String) | Should -Match 'devicelogin'
        (Disconnect-AzcmAgent -UseDeviceCode -TenantId $env:FAKE_TENANT_ID -Confirm:$false -InformationAction SilentlyContinue).Status | Should -Be 'Disconnected'
    }

    It 'keeps the machine connected when disconnect runs with -WhatIf' {
        Connect-AzcmAgent -ServicePrincipalCredential $script:credential @script:target -Name 'pester-05' | Out-Null
        $plan = Disconnect-AzcmAgent -ServicePrincipalCredential $script:credential -TenantId $env:FAKE_TENANT_ID -WhatIf
        $plan.Status | Should -Be 'WhatIf'
        $again = Connect-AzcmAgent -ServicePrincipalCredential $script:credential @script:target -Name 'pester-05'
        $again.Status | Should -Be 'AlreadyConnected'
        Disconnect-AzcmAgent -ServicePrincipalCredential $script:credential -TenantId $env:FAKE_TENANT_ID -Confirm:$false | Out-Null
    }

    It 'looks a certificate up by thumbprint in the Windows certificate store' -Skip:([System.Environment]::OSVersion.Platform -ne 'Win32NT') {
        $caught = $null
        try {
            Connect-AzcmAgent -ServicePrincipalId $env:FAKE_CLIENT_ID -ServicePrincipalCertificateThumbprint ('5A' * 20) @script:target -Name 'pester-06'
        } catch {
            $caught = $_
        }
        $caught.FullyQualifiedErrorId | Should -Be 'AZCM0023,Connect-AzcmAgent'
        $caught.Exception.Message | Should -Match 'LocalMachine\\My or CurrentUser\\My'
    }

    It 'refuses an invalid resource name as AZCM0023 before signing in' {
        { Connect-AzcmAgent -ServicePrincipalCredential $script:credential @script:target -Name 'bad name!' } | Should -Throw -ErrorId 'AZCM0023,Connect-AzcmAgent'
    }

    It 'writes tags in azcmagent syntax' {
        InModuleScope AzcmAgent {
            ConvertTo-AzcmTagArgument -Tag @{ Owner = 'Ops Team'; Env = 'prod'; Note = "it's" } | Should -Be "Env=prod,Note='it''s',Owner='Ops Team'"
        }
    }
}

Describe 'Connect-AzcmAgent with a certificate in the Windows certificate store' -Skip:([System.Environment]::OSVersion.Platform -ne 'Win32NT') {
    It 'signs in with a non-exportable key found by thumbprint' {
        $certificate = New-SelfSignedCertificate -Subject 'CN=azcm pester principal' -CertStoreLocation 'Cert:\CurrentUser\My' -KeyExportPolicy NonExportable -KeyAlgorithm RSA -KeyLength 2048 -Provider 'Microsoft Software Key Storage Provider' -NotAfter ((Get-Date).AddDays(1))
        $storeFake = $null
        try {
            $body = [System.Convert]::ToBase64String($certificate.RawData, [System.Base64FormattingOptions]::InsertLineBreaks)
            $pem = "-----BEGIN CERTIFICATE-----`r`n" + $body + "`r`n-----END CERTIFICATE-----`r`n"
            $scenario = Join-Path -Path $TestDrive -ChildPath 'store-scenario.json'
            ConvertTo-Json -InputObject @{ clientCertificates = @($pem) } | Set-Content -LiteralPath $scenario -Encoding Ascii
            $storeFake = Start-TestFakeCloud -Scenario $scenario
            New-TestStateRoot -Name 'store' | Out-Null
            $result = Connect-AzcmAgent -ServicePrincipalId $env:FAKE_CLIENT_ID -ServicePrincipalCertificateThumbprint $certificate.Thumbprint -TenantId $env:FAKE_TENANT_ID -SubscriptionId $env:FAKE_SUBSCRIPTION_ID -ResourceGroupName $env:FAKE_RESOURCE_GROUP -Location $env:FAKE_LOCATION -Cloud $env:FAKE_CLOUD -Name 'pester-store'
            $result.Status | Should -Be 'Connected'
            Disconnect-AzcmAgent -ForceLocalOnly -Confirm:$false | Out-Null
        } finally {
            Stop-TestFakeCloud -Fake $storeFake
            Remove-Item -LiteralPath ('Cert:\CurrentUser\My\' + $certificate.Thumbprint) -DeleteKey
        }
    }
}

Describe '-WhatIf changes nothing, on disk or in Azure' {
    BeforeAll {
        function Get-WriteRequest {
            # The fake rewrites its request log every 200 ms: wait for a fresh copy.
            Start-Sleep -Milliseconds 600
            @(Get-Content -LiteralPath $env:FAKE_REQUEST_LOG -Raw | ConvertFrom-Json | Where-Object { $_.method -ne 'GET' -and $_.path -notmatch '/oauth2/' })
        }

        function Get-StateSnapshot {
            param([string]$Root)
            @(Get-ChildItem -LiteralPath $Root -Recurse -File -Force | Where-Object Name -NE '.azcm.lock' | ForEach-Object {
                    '{0} {1}' -f $_.FullName, (Get-FileHash -LiteralPath $_.FullName -Algorithm SHA256).Hash
                })
        }
    }

    It 'connect -WhatIf sends no write to ARM and writes no file' {
        $root = New-TestStateRoot -Name 'whatif-connect'
        $before = @(Get-WriteRequest).Count
        $plan = Connect-AzcmAgent -ServicePrincipalCredential $script:credential @script:target -Name 'pester-whatif' -WhatIf
        $plan.Status | Should -Be 'WhatIf'
        @(Get-WriteRequest).Count | Should -Be $before -Because 'a what-if connect only reads'
        @(Get-StateSnapshot -Root $root).Count | Should -Be 0
    }

    It 'disconnect -WhatIf deletes nothing in Azure and keeps the local state' {
        $root = New-TestStateRoot -Name 'whatif-disconnect'
        Connect-AzcmAgent -ServicePrincipalCredential $script:credential @script:target -Name 'pester-whatif-2' | Out-Null
        $state = Get-StateSnapshot -Root $root
        $before = @(Get-WriteRequest).Count
        Disconnect-AzcmAgent -ServicePrincipalCredential $script:credential -TenantId $env:FAKE_TENANT_ID -WhatIf | Out-Null
        @(Get-WriteRequest).Count | Should -Be $before
        Get-StateSnapshot -Root $root | Should -Be $state
        Disconnect-AzcmAgent -ServicePrincipalCredential $script:credential -TenantId $env:FAKE_TENANT_ID -Confirm:$false | Out-Null
        @(Get-WriteRequest | Where-Object method -EQ 'DELETE').Count | Should -BeGreaterThan 0 -Because 'the log does see writes'
    }
}

Describe 'Confirmation' {
    It 'asks before disconnecting (ConfirmImpact High); a session that cannot answer stops, -Confirm:$false goes ahead' {
        $root = New-TestStateRoot -Name 'confirm'
        Connect-AzcmAgent -ServicePrincipalCredential $script:credential @script:target -Name 'pester-confirm' | Out-Null
        $config = Join-Path -Path $root -ChildPath 'var/opt/azcmagent/agentconfig.json'
        # In a session that cannot answer (-NonInteractive), whatever session runs the tests:
        # run from a terminal, the prompt would otherwise wait for a person.
        $PSNativeCommandArgumentPassing = 'Standard'
        $manifest = Join-Path -Path (Get-Module -Name AzcmAgent).ModuleBase -ChildPath 'AzcmAgent.psd1'
        $command = "Import-Module -Name '{0}'; Disconnect-AzcmAgent -ForceLocalOnly -Confirm" -f $manifest
        $output = & (Get-Process -Id $PID).Path -NoProfile -NonInteractive -Command $command 2>&1
        ($output | Out-String) | Should -Match 'NonInteractive' -Because 'the unanswerable prompt stops it'
        Test-Path -LiteralPath $config | Should -BeTrue -Because 'nothing changes without an answer'
        (Disconnect-AzcmAgent -ForceLocalOnly -Confirm:$false).Status | Should -Be 'Disconnected'
        Test-Path -LiteralPath $config | Should -BeFalse
    }
}

Describe 'Pipeline input and the terminal' {
    It 'takes a row of a connect run here back as this machine, never as a WinRM target' {
        New-TestStateRoot -Name 'local-row' | Out-Null
        $first = Connect-AzcmAgent -ServicePrincipalCredential $script:credential @script:target -Name 'pester-local-row' -WhatIf
        $first.ComputerName | Should -Be ([System.Environment]::MachineName)
        # The row binds -ComputerName (and -Location) by property name.
        $again = @($first | Connect-AzcmAgent -ServicePrincipalCredential $script:credential -TenantId $env:FAKE_TENANT_ID -SubscriptionId $env:FAKE_SUBSCRIPTION_ID -ResourceGroupName $env:FAKE_RESOURCE_GROUP -Cloud $env:FAKE_CLOUD -Name 'pester-local-row' -WhatIf)
        $again.Count | Should -Be 1
        $again[0].Status | Should -Be 'WhatIf'
        $again[0].PSObject.Properties['PSComputerName'] | Should -BeNullOrEmpty
    }

    It 'draws the step azcm is in while it waits, in a terminal' {
        if ([System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT) {
            Set-ItResult -Skipped -Because 'the pseudo-terminal is a Unix one (Python pty)'
            return
        }
        $work = Join-Path -Path $TestDrive -ChildPath 'terminal'
        New-Item -ItemType Directory -Path $work -Force | Out-Null
        $scenario = Join-Path -Path $work -ChildPath 'slow-put.json'
        Set-Content -LiteralPath $scenario -Value '{"faults":[{"step":"machinePut","kind":{"type":"delay","ms":3500},"times":1}]}' -Encoding Ascii
        $slow = Start-TestFakeCloud -Scenario $scenario
        try {
            New-TestStateRoot -Name 'terminal' | Out-Null
            $child = Join-Path -Path $work -ChildPath 'connect.ps1'
            $manifest = Join-Path -Path (Get-Module -Name AzcmAgent).ModuleBase -ChildPath 'AzcmAgent.psd1'
            $lines = @(
                ("Import-Module -Name '{0}'" -f $manifest),
                '$secret = ConvertTo-SecureString -String $env:FAKE_CLIENT_SECRET -AsPlainText -Force',
                '$sp = New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList $env:FAKE_CLIENT_ID, $secret',
                'Connect-AzcmAgent -ServicePrincipalCredential $sp -TenantId $env:FAKE_TENANT_ID -SubscriptionId $env:FAKE_SUBSCRIPTION_ID -ResourceGroupName $env:FAKE_RESOURCE_GROUP -Location $env:FAKE_LOCATION -Cloud $env:FAKE_CLOUD -Name pester-terminal -Confirm:$false | Out-Null',
                "'connected'"
            )
            Set-Content -LiteralPath $child -Value ($lines -join "`n")
            # A terminal of 120 columns that answers PowerShell's cursor queries, as a console would.
            $PSNativeCommandArgumentPassing = 'Standard'
            $terminal = Join-Path -Path $PSScriptRoot -ChildPath 'terminal.py'
            $screen = (& python3 $terminal (Get-Process -Id $PID).Path -NoProfile -NonInteractive -File $child 2>&1) -join "`n"
            $LASTEXITCODE | Should -Be 0 -Because $screen
            $screen | Should -Match 'connected'
            # The running step, said again while the PUT is held: drawn, with how long it has run.
            $screen | Should -Match 'creating the machine resource \([1-9] s\)'
        } finally {
            Stop-TestFakeCloud -Fake $slow
        }
    }
}

Describe 'The other sign-in parameter sets, end to end' {
    BeforeEach {
        $script:root = New-TestStateRoot -Name 'signin'
    }

    It 'connects and disconnects with -AccessToken, and reads the resource with Get-AzcmAgent -Arm -AccessToken' {
        $token = ConvertTo-SecureString -String (Get-TestFakeAccessToken) -AsPlainText -Force
        $result = Connect-AzcmAgent -AccessToken $token @script:target -Name 'pester-token' -Confirm:$false
        $result.Status | Should -Be 'Connected'
        (Get-AzcmAgent -Arm -AccessToken $token).Arm.exists | Should -BeTrue
        (Disconnect-AzcmAgent -AccessToken $token -Confirm:$false).Status | Should -Be 'Disconnected'
    }

    It 'connects with -UseAzureCli, through the az on PATH' {
        $az = Join-Path -Path $script:root -ChildPath 'az-bin'
        New-Item -ItemType Directory -Path $az -Force | Out-Null
        $answer = @{ accessToken = (Get-TestFakeAccessToken); expires_on = [DateTimeOffset]::UtcNow.AddHours(1).ToUnixTimeSeconds(); tenant = $env:FAKE_TENANT_ID; tokenType = 'Bearer' } | ConvertTo-Json -Compress
        Set-Content -LiteralPath (Join-Path -Path $az -ChildPath 'answer.json') -Value $answer
        $script = "#!/bin/sh`necho `"`$@`" >> `"`$(dirname `"`$0`")/calls.log`"`ncat `"`$(dirname `"`$0`")/answer.json`"`n"
        [System.IO.File]::WriteAllText((Join-Path -Path $az -ChildPath 'az'), $script)
        & chmod 755 (Join-Path -Path $az -ChildPath 'az')
        $savedPath = $env:PATH
        try {
            $env:PATH = $az + [System.IO.Path]::PathSeparator + $env:PATH
            $result = Connect-AzcmAgent -UseAzureCli @script:target -Name 'pester-azcli' -Confirm:$false
            $gone = Disconnect-AzcmAgent -UseAzureCli -TenantId $env:FAKE_TENANT_ID -Confirm:$false
        } finally {
            $env:PATH = $savedPath
        }
        $result.Status | Should -Be 'Connected'
        $gone.Status | Should -Be 'Disconnected'
        Get-Content -LiteralPath (Join-Path -Path $az -ChildPath 'calls.log') -Raw | Should -Match 'account get-access-token'
    }
}

Describe 'Connect-AzcmAgent with a certificate file' {
    It 'signs in with a PEM certificate and key, connects and disconnects' {
        $principal = New-TestFakeCertificate -Directory $TestDrive
        $pemPath = $principal.PemPath
        $certificateFake = Start-TestFakeCloud -Scenario $principal.Scenario
        try {
            New-TestStateRoot -Name 'certificate' | Out-Null
            $target = Get-TestFakeTarget
            $result = Connect-AzcmAgent -ServicePrincipalId $env:FAKE_CLIENT_ID -ServicePrincipalCertificatePath $pemPath @target -Name 'pester-certificate' -Confirm:$false
            $result.Status | Should -Be 'Connected'
            $gone = Disconnect-AzcmAgent -ServicePrincipalId $env:FAKE_CLIENT_ID -ServicePrincipalCertificatePath $pemPath -TenantId $env:FAKE_TENANT_ID -Confirm:$false
            $gone.Status | Should -Be 'Disconnected'
        } finally {
            Stop-TestFakeCloud -Fake $certificateFake
        }
    }
}
