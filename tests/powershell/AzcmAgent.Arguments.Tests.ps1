# What reaches azcm: every free-text parameter's value arrives byte for byte under both native
# argument-passing modes (Legacy is how Windows PowerShell 5.1 passes them), no value adds a
# flag, and secrets arrive on stdin only, never in argv or the environment. A recording stand-in
# named by AZCM_BINARY writes down its argv, environment and stdin; the real binary and the fake
# cloud then show that tags with such values are stored exactly.
BeforeDiscovery {
    $script:modes = @(
        @{ Mode = 'Legacy' }
        @{ Mode = 'Standard' }
    )
}

BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Common.ps1')

    $script:realBinary = $env:AZCM_BINARY
    $script:recorderDir = Join-Path -Path ([System.IO.Path]::GetTempPath()) -ChildPath ('azcm-recorder-{0}' -f [guid]::NewGuid())
    New-Item -ItemType Directory -Path $script:recorderDir -Force | Out-Null
    $script:recorder = Join-Path -Path $script:recorderDir -ChildPath 'azcm'
    $script:recordFile = Join-Path -Path $script:recorderDir -ChildPath 'runs.jsonl'
    # A stand-in for azcm: records argv, environment and (when a flag says `-`) the stdin line,
    # then answers with a successful JSON envelope.
    $python = @'
#!/usr/bin/env python3
import json, os, sys
argv = sys.argv[1:]
record = {"argv": argv, "env": dict(os.environ), "stdin": None}
if "-" in argv:
    record["stdin"] = sys.stdin.readline().rstrip("\r\n")
with open(os.environ["AZCM_RECORD_FILE"], "a", encoding="utf-8") as f:
    f.write(json.dumps(record) + "\n")
print(json.dumps({"schemaVersion": 1, "command": "recorded", "ok": True, "result": {}, "warnings": []}))
'@
    [System.IO.File]::WriteAllText($script:recorder, $python.Replace("`r`n", "`n"))
    & chmod 755 $script:recorder

    function Invoke-Recorded {
        # Runs the script block against the stand-in and returns what each azcm run received.
        param(
            [Parameter(Mandatory = $true)]
            [scriptblock]$ScriptBlock
        )
        if (Test-Path -LiteralPath $script:recordFile) {
            Remove-Item -LiteralPath $script:recordFile -Force
        }
        $env:AZCM_BINARY = $script:recorder
        $env:AZCM_RECORD_FILE = $script:recordFile
        try {
            try {
                & $ScriptBlock | Out-Null
            } catch {
                # The stand-in's empty result may not shape into the cmdlet's objects: only the
                # arguments matter here.
                Write-Verbose -Message $_.Exception.Message
            }
        } finally {
            $env:AZCM_BINARY = $script:realBinary
            Remove-Item -Path Env:AZCM_RECORD_FILE -ErrorAction SilentlyContinue
        }
        if (-not (Test-Path -LiteralPath $script:recordFile)) {
            return @()
        }
        @(Get-Content -LiteralPath $script:recordFile -Encoding UTF8 | ForEach-Object { $_ | ConvertFrom-Json })
    }

    function Get-FlagValue {
        param($Run, [string]$Flag)
        $argv = @($Run.argv)
        $at = [array]::IndexOf($argv, $Flag)
        if ($at -lt 0 -or $at + 1 -ge $argv.Count) {
            return $null
        }
        $argv[$at + 1]
    }

    # Values that break naive quoting, one per case, and one that tries to add flags.
    $script:values = @(
        'Ops "Blue" Team',
        'back\slash',
        'trailing\',
        'trailing space\ ',
        'a b c',
        'a,b',
        'k=v',
        "it's",
        'naïve Ünïcödé ✓ 日本',
        '\\"x\\',
        'x" --json --what-if "y'
    )
    $script:savedPassing = $global:PSNativeCommandArgumentPassing
}

AfterAll {
    $global:PSNativeCommandArgumentPassing = $script:savedPassing
    Remove-Item -LiteralPath $script:recorderDir -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Arguments reach azcm byte for byte (<Mode>)' -ForEach $script:modes {
    BeforeAll {
        $global:PSNativeCommandArgumentPassing = $Mode
        $script:secret = ConvertTo-SecureString -String 'not-a-real-secret' -AsPlainText -Force
    }

    AfterAll {
        $global:PSNativeCommandArgumentPassing = $script:savedPassing
    }

    It 'passes every free-text parameter of Connect-AzcmAgent unchanged' {
        foreach ($value in $script:values) {
            $credential = New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList $value, $script:secret
            $runs = Invoke-Recorded {
                Connect-AzcmAgent -ServicePrincipalCredential $credential -TenantId $value -SubscriptionId $value -ResourceGroupName $value -Location $value -Name $value -Cloud $value -PrivateLinkScope $value -GatewayId $value -AutomanageProfile $value -Confirm:$false
            }
            $runs.Count | Should -Be 1
            foreach ($flag in @('--tenant-id', '--subscription-id', '--resource-group', '--location', '--resource-name', '--cloud', '--private-link-scope', '--gateway-id', '--automanage-profile', '--service-principal-id')) {
                Get-FlagValue -Run $runs[0] -Flag $flag | Should -BeExactly $value -Because "$flag under $Mode"
            }
            @($runs[0].argv | Where-Object { $_ -eq '--what-if' }).Count | Should -Be 0 -Because 'no value adds a flag'
            @($runs[0].argv | Where-Object { $_ -eq '--json' }).Count | Should -Be 1
        }
    }

    It 'passes the certificate thumbprint and service principal id unchanged' {
        $value = $script:values[0]
        $runs = Invoke-Recorded {
            Connect-AzcmAgent -ServicePrincipalId $value -ServicePrincipalCertificateThumbprint $value -TenantId 'tenant' -SubscriptionId 's' -ResourceGroupName 'rg' -Location 'westeurope' -Confirm:$false
        }
        Get-FlagValue -Run $runs[0] -Flag '--service-principal-cert-thumbprint' | Should -BeExactly $value
        Get-FlagValue -Run $runs[0] -Flag '--service-principal-id' | Should -BeExactly $value
    }

    It 'passes tags in azcmagent syntax exactly, empty values included' {
        $tag = [ordered]@{ Owner = 'Ops "Blue" Team'; 'Cost Center' = "It's, here"; Path = 'C:\Temp\'; Empty = ''; Name = 'naïve=✓' }
        $runs = Invoke-Recorded {
            Connect-AzcmAgent -ServicePrincipalCredential (New-Object System.Management.Automation.PSCredential -ArgumentList 'app', $script:secret) -TenantId 't' -SubscriptionId 's' -ResourceGroupName 'rg' -Location 'westeurope' -Tag $tag -Confirm:$false
        }
        $expected = & (Get-Module AzcmAgent) { param($t) ConvertTo-AzcmTagArgument -Tag $t } $tag
        Get-FlagValue -Run $runs[0] -Flag '--tags' | Should -BeExactly $expected
    }

    It 'passes the free-text parameters of Disconnect-AzcmAgent, Get-AzcmAgent, Test-AzcmConnectivity, Export-AzcmLog and Remove-AzcmExtension unchanged' {
        foreach ($value in $script:values) {
            $credential = New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList $value, $script:secret
            $runs = Invoke-Recorded { Disconnect-AzcmAgent -ServicePrincipalCredential $credential -TenantId $value -Confirm:$false }
            Get-FlagValue -Run $runs[0] -Flag '--tenant-id' | Should -BeExactly $value
            Get-FlagValue -Run $runs[0] -Flag '--service-principal-id' | Should -BeExactly $value

            $runs = Invoke-Recorded { Get-AzcmAgent -Arm -ServicePrincipalCredential $credential -TenantId $value -Property $value, 'status' }
            Get-FlagValue -Run $runs[0] -Flag '--tenant-id' | Should -BeExactly $value
            $argv = @($runs[0].argv)
            $argv[-3] | Should -BeExactly '--' -Because 'property names follow --, so none is taken for a flag'
            $argv[-2] | Should -BeExactly $value

            $runs = Invoke-Recorded { Test-AzcmConnectivity -Location $value -Cloud $value -DnsServer $value }
            foreach ($flag in @('--location', '--cloud', '--dns-server')) {
                Get-FlagValue -Run $runs[0] -Flag $flag | Should -BeExactly $value -Because $flag
            }

            $runs = Invoke-Recorded { Remove-AzcmExtension -Name $value -Confirm:$false }
            Get-FlagValue -Run $runs[0] -Flag '--name' | Should -BeExactly $value
        }
        $folder = Join-Path -Path $script:recorderDir -ChildPath 'logs "here" \ and there'
        New-Item -ItemType Directory -Path $folder -Force | Out-Null
        $file = Join-Path -Path $folder -ChildPath "it's naïve.zip"
        $runs = Invoke-Recorded { Export-AzcmLog -Path $file -Confirm:$false }
        Get-FlagValue -Run $runs[0] -Flag '--output' | Should -BeExactly $file
    }

    It 'passes Set-AzcmConfig values, even ones that look like flags or are empty, after --' {
        foreach ($value in @($script:values + @('--what-if', '-', '--add'))) {
            $runs = Invoke-Recorded { Set-AzcmConfig -Name 'proxy.bypass' -Value $value, 'AAD' -Confirm:$false }
            $argv = @($runs[0].argv)
            $argv[-3] | Should -BeExactly '--'
            $argv[-2] | Should -BeExactly 'proxy.bypass'
            $argv[-1] | Should -BeExactly ('{0},AAD' -f $value)
        }
        $runs = Invoke-Recorded { Set-AzcmConfig -Name 'proxy.bypass' -Value 'AAD' -Add -Confirm:$false }
        @($runs[0].argv) | Should -Contain '--add'
        [array]::IndexOf(@($runs[0].argv), '--add') | Should -BeLessThan ([array]::IndexOf(@($runs[0].argv), '--'))
    }

    It 'keeps secrets off the command line and out of the environment: they arrive on stdin' {
        $plain = 'S3cr3t "quoted" \ and --json'
        $secure = ConvertTo-SecureString -String $plain -AsPlainText -Force
        $credential = New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList 'app-id', $secure
        $target = @{ TenantId = 't'; SubscriptionId = 's'; ResourceGroupName = 'rg'; Location = 'westeurope' }
        $calls = @(
            { Connect-AzcmAgent -ServicePrincipalCredential $credential @target -Confirm:$false },
            { Connect-AzcmAgent -AccessToken $secure @target -Confirm:$false },
            { Disconnect-AzcmAgent -ServicePrincipalCredential $credential -TenantId 't' -Confirm:$false },
            { Disconnect-AzcmAgent -AccessToken $secure -Confirm:$false },
            { Get-AzcmAgent -Arm -ServicePrincipalCredential $credential -TenantId 't' },
            { Get-AzcmAgent -Arm -AccessToken $secure }
        )
        foreach ($call in $calls) {
            $runs = Invoke-Recorded $call
            $runs.Count | Should -Be 1 -Because $call.ToString()
            $run = $runs[0]
            $run.stdin | Should -BeExactly $plain -Because $call.ToString()
            foreach ($word in $run.argv) {
                $word | Should -Not -Match ([regex]::Escape('S3cr3t')) -Because 'argv carries no secret'
            }
            foreach ($property in $run.env.PSObject.Properties) {
                [string]$property.Value | Should -Not -Match ([regex]::Escape('S3cr3t')) -Because ('environment variable {0}' -f $property.Name)
            }
            @($run.argv | Where-Object { $_ -eq '-' }).Count | Should -Be 1
        }
    }
}

Describe 'Tags with quotes, backslashes and non-ASCII text are stored exactly (<Mode>)' -ForEach $script:modes {
    BeforeAll {
        $global:PSNativeCommandArgumentPassing = $Mode
        $script:fake = Start-TestFakeCloud
        $script:credential = Get-TestFakeCredential
    }

    AfterAll {
        Stop-TestFakeCloud -Fake $script:fake
        $global:PSNativeCommandArgumentPassing = $script:savedPassing
    }

    It 'connects with such tags and the fake stores each byte for byte' {
        New-TestStateRoot -Name ('tags-{0}' -f $Mode) | Out-Null
        $tag = @{ Owner = 'Ops "Blue" Team'; Path = 'C:\Temp\'; Note = "it's, a=b"; Empty = ''; Name = 'naïve ✓' }
        $result = Connect-AzcmAgent -ServicePrincipalCredential $script:credential -TenantId $env:FAKE_TENANT_ID -SubscriptionId $env:FAKE_SUBSCRIPTION_ID -ResourceGroupName $env:FAKE_RESOURCE_GROUP -Location $env:FAKE_LOCATION -Cloud $env:FAKE_CLOUD -Name ('tags-{0}' -f $Mode.ToLowerInvariant()) -Tag $tag -Confirm:$false
        $result.Status | Should -Be 'Connected'
        # The tags as ARM stores them, read back through azcm show --arm.
        $agent = Get-AzcmAgent -Arm -ServicePrincipalCredential $script:credential -TenantId $env:FAKE_TENANT_ID
        $stored = $agent.Arm.tags
        @($stored.PSObject.Properties).Count | Should -Be $tag.Count
        foreach ($key in $tag.Keys) {
            $stored.$key | Should -BeExactly $tag[$key] -Because "tag $key under $Mode"
        }
    }
}
