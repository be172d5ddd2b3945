# The scripts in examples/ run for real, as Intune, Group Policy and an admin would run them:
# each in its own PowerShell process that imports the module by name, against the fake cloud,
# checked by exit code, output and the agent state they leave.
BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Common.ps1')
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Remoting.ps1')

    $script:fake = Start-TestFakeCloud
    $script:examples = Join-Path -Path $repoRoot -ChildPath 'examples'
    $script:moduleRoot = Join-Path -Path $repoRoot -ChildPath 'powershell'
    if ($env:AZCM_MODULE_PATH) {
        $script:moduleRoot = Split-Path -Path (Split-Path -Path (Split-Path -Path $env:AZCM_MODULE_PATH -Parent) -Parent) -Parent
    }
    $script:pwshPath = [System.Diagnostics.Process]::GetCurrentProcess().MainModule.FileName
    $script:work = Join-Path -Path ([System.IO.Path]::GetTempPath()) -ChildPath ('azcm-examples-{0}' -f [guid]::NewGuid())
    New-Item -ItemType Directory -Path $script:work -Force | Out-Null
    $script:secretPath = Join-Path -Path $script:work -ChildPath 'onboarding-secret.txt'
    Set-Content -LiteralPath $script:secretPath -Value $env:FAKE_CLIENT_SECRET -NoNewline

    function Invoke-Example {
        # Runs an example script in a new PowerShell; returns its exit code and output.
        param(
            [Parameter(Mandatory = $true)]
            [string]$Name,

            [Parameter(Mandatory = $false)]
            [hashtable]$Parameters = @{}
        )
        $arguments = @('-NoProfile', '-NonInteractive', '-File', (Join-Path -Path $script:examples -ChildPath $Name))
        foreach ($key in $Parameters.Keys) {
            $arguments += @(('-{0}' -f $key), [string]$Parameters[$key])
        }
        $savedModulePath = $env:PSModulePath
        try {
            $env:PSModulePath = $script:moduleRoot + [System.IO.Path]::PathSeparator + $env:PSModulePath
            $output = & $script:pwshPath @arguments 2>&1
            $code = $LASTEXITCODE
        } finally {
            $env:PSModulePath = $savedModulePath
        }
        [pscustomobject]@{ ExitCode = $code; Output = (@($output | ForEach-Object { [string]$_ }) -join "`n") }
    }

    function New-GpoSetting {
        # The GPO script's settings file for the fake cloud, with a secret or a certificate.
        param([hashtable]$SignIn)
        $settings = @{
            tenantId           = $env:FAKE_TENANT_ID
            subscriptionId     = $env:FAKE_SUBSCRIPTION_ID
            resourceGroup      = $env:FAKE_RESOURCE_GROUP
            location           = $env:FAKE_LOCATION
            cloud              = $env:FAKE_CLOUD
            servicePrincipalId = $env:FAKE_CLIENT_ID
        } + $SignIn
        $path = Join-Path -Path $script:work -ChildPath ('settings-{0}.json' -f [guid]::NewGuid())
        $settings | ConvertTo-Json | Set-Content -LiteralPath $path
        $path
    }

    function Get-AgentConfigPath {
        Join-Path -Path $env:AZCM_ROOT -ChildPath 'var/opt/azcmagent/agentconfig.json'
    }

    $script:target = Get-TestFakeTarget
    $script:target['ServicePrincipalId'] = $env:FAKE_CLIENT_ID
}

AfterAll {
    Stop-TestFakeCloud -Fake $script:fake
    Remove-Item -LiteralPath $script:work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Intune remediation: detect, remediate, detect again' {
    BeforeAll {
        $script:intuneRoot = New-TestStateRoot -Name 'intune'
    }

    AfterAll {
        # The resource is named after this host: delete it for the next example.
        $env:AZCM_ROOT = $script:intuneRoot
        Disconnect-AzcmAgent -ServicePrincipalCredential (Get-TestFakeCredential) -TenantId $env:FAKE_TENANT_ID -Confirm:$false | Out-Null
    }

    It 'detects a machine that is not connected (exit 1)' {
        $run = Invoke-Example -Name 'Intune-Detect-AzcmAgent.ps1'
        $run.ExitCode | Should -Be 1 -Because $run.Output
        $run.Output | Should -Match 'Not connected to Azure Arc'
    }

    It 'remediates: connects (exit 0) and leaves its transcript in the agent''s log folder' {
        $parameters = $script:target.Clone()
        $parameters['SecretPath'] = $script:secretPath
        $run = Invoke-Example -Name 'Intune-Remediate-AzcmAgent.ps1' -Parameters $parameters
        $run.ExitCode | Should -Be 0 -Because $run.Output
        $run.Output | Should -Match 'Connected: /subscriptions/'
        Test-Path -LiteralPath (Get-AgentConfigPath) | Should -BeTrue
        $logs = Join-Path -Path $env:AZCM_ROOT -ChildPath 'var/opt/azcmagent/log'
        @(Get-ChildItem -LiteralPath $logs -Filter 'intune-*.log').Count | Should -Be 1
    }

    It 'detects the connected machine (exit 0), and a second remediation changes nothing' {
        $run = Invoke-Example -Name 'Intune-Detect-AzcmAgent.ps1'
        $run.ExitCode | Should -Be 0 -Because $run.Output
        $run.Output | Should -Match 'Connected: /subscriptions/.*/machines/'
        $parameters = $script:target.Clone()
        $parameters['SecretPath'] = $script:secretPath
        $again = Invoke-Example -Name 'Intune-Remediate-AzcmAgent.ps1' -Parameters $parameters
        $again.ExitCode | Should -Be 0
        $again.Output | Should -Match 'AlreadyConnected'
    }

    It 'fails a remediation with a wrong secret with exit 1 and the remediation line' {
        New-TestStateRoot -Name 'intune-wrong' | Out-Null
        $wrong = Join-Path -Path $script:work -ChildPath 'wrong-secret.txt'
        Set-Content -LiteralPath $wrong -Value 'not-the-secret' -NoNewline
        $parameters = $script:target.Clone()
        $parameters['SecretPath'] = $wrong
        $run = Invoke-Example -Name 'Intune-Remediate-AzcmAgent.ps1' -Parameters $parameters
        $run.ExitCode | Should -Be 1
        $run.Output | Should -Match 'Failed \(AZCM0041,Connect-AzcmAgent\)'
        $run.Output | Should -Match 'Remediation: '
        $run.Output | Should -Not -Match 'not-the-secret'
    }
}

Describe 'Group Policy startup script' {
    It 'connects once, and a later startup does nothing (exit 0 both times)' {
        New-TestStateRoot -Name 'gpo' | Out-Null
        $settings = New-GpoSetting -SignIn @{ secretPath = $script:secretPath }
        $run = Invoke-Example -Name 'GPO-Startup-Connect-AzcmAgent.ps1' -Parameters @{ SettingsPath = $settings }
        $run.ExitCode | Should -Be 0 -Because $run.Output
        $run.Output | Should -Match 'Connected: /subscriptions/'
        $logs = Join-Path -Path $env:AZCM_ROOT -ChildPath 'var/opt/azcmagent/log'
        Test-Path -LiteralPath (Join-Path -Path $logs -ChildPath 'gpo-connected.txt') | Should -BeTrue
        $again = Invoke-Example -Name 'GPO-Startup-Connect-AzcmAgent.ps1' -Parameters @{ SettingsPath = $settings }
        $again.ExitCode | Should -Be 0
        $again.Output | Should -BeNullOrEmpty -Because 'a later startup skips the work quietly'
        @(Get-ChildItem -LiteralPath $logs -Filter 'gpo-*.log').Count | Should -Be 1
    }
}

Describe 'Group Policy startup script with a certificate (the preferred sign-in)' {
    It 'connects with the certificate the settings name' {
        $principal = New-TestFakeCertificate -Directory $script:work
        $certificateFake = Start-TestFakeCloud -Scenario $principal.Scenario
        try {
            New-TestStateRoot -Name 'gpo-certificate' | Out-Null
            $settings = New-GpoSetting -SignIn @{ certificatePath = $principal.PemPath }
            $run = Invoke-Example -Name 'GPO-Startup-Connect-AzcmAgent.ps1' -Parameters @{ SettingsPath = $settings }
            $run.ExitCode | Should -Be 0 -Because $run.Output
            $run.Output | Should -Match 'Connected: /subscriptions/'
        } finally {
            Stop-TestFakeCloud -Fake $certificateFake
        }
    }
}

Describe 'Connect-Fleet over SSH remoting' {
    BeforeAll {
        $script:missing = @(Test-TestSshPrerequisite)
        if ($script:missing.Count -gt 0 -and $env:CI -eq 'true') {
            throw ('CI must run the SSH fleet example; missing: {0}' -f ($script:missing -join ', '))
        }
        if ($script:missing.Count -eq 0) {
            $machines = @(
                @{ Address = '127.0.0.21'; Name = 'web-01' },
                @{ Address = '127.0.0.22'; Name = 'web-02' },
                @{ Address = '127.0.0.23'; Name = 'web-03' },
                @{ Address = '127.0.0.24'; Name = 'web-04' },
                @{ Address = '127.0.0.25'; Name = 'web_05_' }
            )
            $script:fleet = Start-TestSshMachine -Machine $machines -ModuleRoot $script:moduleRoot
        }
    }

    AfterAll {
        if ($script:fleet) {
            Stop-TestSshMachine -Fleet $script:fleet
        }
    }

    It 'connects every server of the CSV in one fan-out, reports one row each in its order, and retries from its report' {
        if ($script:missing.Count -gt 0) {
            Set-ItResult -Skipped -Because 'SSH remoting needs root, sshd and unshare'
            return
        }
        $csv = Join-Path -Path $script:work -ChildPath 'servers.csv'
        $report = Join-Path -Path $script:work -ChildPath 'report.csv'
        $order = @('127.0.0.24', '127.0.0.21', '127.0.0.26', '127.0.0.22', '127.0.0.25', '127.0.0.23')
        # web-04 goes to a resource group of its own: still the same fan-out.
        $order | ForEach-Object {
            $group = ''
            if ($_ -eq '127.0.0.24') {
                $group = 'fleet-rg-2'
            }
            [pscustomobject]@{ HostName = $_; ResourceGroupName = $group }
        } | Export-Csv -LiteralPath $csv -NoTypeInformation
        $optionsFile = Join-Path -Path $script:work -ChildPath 'fleet.ps1'
        # -SshOptions is a hashtable: a wrapper passes it, as an admin's script would.
        $wrapper = @'
param([string]$Csv, [string]$Report, [string]$Key, [string]$KnownHosts, [string]$RetryFrom)
$secret = ConvertTo-SecureString -String $env:FAKE_CLIENT_SECRET -AsPlainText -Force
$sp = New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList $env:FAKE_CLIENT_ID, $secret
$fleet = @{ ReportPath = $Report; UserName = 'root'; KeyFilePath = $Key; SshOptions = @{ UserKnownHostsFile = $KnownHosts; StrictHostKeyChecking = 'yes' }; ServicePrincipalCredential = $sp; TenantId = $env:FAKE_TENANT_ID; Cloud = $env:FAKE_CLOUD; ThrottleLimit = 3 }
if ($RetryFrom) {
    $fleet['RetryFrom'] = $RetryFrom
} else {
    $fleet['CsvPath'] = $Csv
    $fleet['SubscriptionId'] = $env:FAKE_SUBSCRIPTION_ID
    $fleet['ResourceGroupName'] = $env:FAKE_RESOURCE_GROUP
    $fleet['Location'] = $env:FAKE_LOCATION
}
& (Join-Path -Path $env:AZCM_EXAMPLES -ChildPath 'Connect-Fleet.ps1') @fleet | Out-Null
'@
        Set-Content -LiteralPath $optionsFile -Value $wrapper
        $runFleet = {
            param($Report, $RetryFrom)
            $env:AZCM_EXAMPLES = $script:examples
            $savedModulePath = $env:PSModulePath
            try {
                $env:PSModulePath = $script:moduleRoot + [System.IO.Path]::PathSeparator + $env:PSModulePath
                $fleetArgs = @('-NoProfile', '-NonInteractive', '-File', $optionsFile, '-Csv', $csv, '-Report', $Report, '-Key', $script:fleet.Ssh.KeyFilePath, '-KnownHosts', $script:fleet.Ssh.Options.UserKnownHostsFile)
                if ($RetryFrom) {
                    $fleetArgs += @('-RetryFrom', $RetryFrom)
                }
                $output = & $script:pwshPath @fleetArgs 2>&1
                $LASTEXITCODE | Should -Be 0 -Because ($output | Out-String)
                ($output | Out-String)
            } finally {
                $env:PSModulePath = $savedModulePath
                Remove-Item -Path Env:AZCM_EXAMPLES -ErrorAction SilentlyContinue
            }
        }
        $said = & $runFleet $report $null
        # One fan-out for every group, summed up once.
        ([regex]::Matches($said, 'Connect-AzcmAgent on 6 machines: ')).Count | Should -Be 1 -Because $said
        $rows = @(Import-Csv -LiteralPath $report)
        @($rows | ForEach-Object { $_.HostName }) | Should -Be $order
        foreach ($m in ($script:fleet.Machines | Where-Object Name -NE 'web_05_')) {
            $row = $rows | Where-Object HostName -EQ $m.Address
            $row.MachineName | Should -Be $m.Name
            $row.Status | Should -Be 'Connected'
            $row.ResourceId | Should -Match ('/machines/{0}$' -f $m.Name)
            $row.Location | Should -Be $env:FAKE_LOCATION
        }
        ($rows | Where-Object HostName -EQ '127.0.0.24').ResourceId | Should -Match '/resourceGroups/fleet-rg-2/'
        ($rows | Where-Object HostName -EQ '127.0.0.24').ResourceGroupName | Should -Be 'fleet-rg-2'
        $bad = $rows | Where-Object HostName -EQ '127.0.0.25'
        $bad.Status | Should -Be 'Failed'
        $bad.ErrorCode | Should -Be 'AZCM0102'
        $bad.ResourceGroupName | Should -Be $env:FAKE_RESOURCE_GROUP
        ($rows | Where-Object HostName -EQ '127.0.0.26').Status | Should -Be 'Unreachable'

        # Retry from the report, the failed server given a valid name: only the two that did
        # not connect run, and the new report is whole, in the same order.
        $edited = @(Import-Csv -LiteralPath $report)
        ($edited | Where-Object HostName -EQ '127.0.0.25').Name = 'web-05'
        $edited | Export-Csv -LiteralPath $report -NoTypeInformation
        $retried = Join-Path -Path $script:work -ChildPath 'report-retry.csv'
        $said = & $runFleet $retried $report
        $said | Should -Match 'Connect-AzcmAgent on 2 machines: Connected 1, Unreachable 1'
        $rows = @(Import-Csv -LiteralPath $retried)
        @($rows | ForEach-Object { $_.HostName }) | Should -Be $order
        $fixed = $rows | Where-Object HostName -EQ '127.0.0.25'
        $fixed.Status | Should -Be 'Connected'
        $fixed.ResourceId | Should -Match '/machines/web-05$'
        $fixed.ErrorCode | Should -BeNullOrEmpty
        ($rows | Where-Object HostName -EQ '127.0.0.26').Status | Should -Be 'Unreachable'
        @($rows | Where-Object Status -EQ 'Connected').Count | Should -Be 5
    }
}
