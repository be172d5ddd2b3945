# Fan-out over real SSH remoting: six machines (sshd on 127.0.0.11-15 and .17, each in its own UTS
# namespace with its own host name and agent state), one of them with a host name that is not a
# valid resource name, so its connect fails, and one address nobody listens on (127.0.0.16).
BeforeDiscovery {
    $script:canRun = $true
    if ([System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT) {
        $script:canRun = $false
    }
}

BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Common.ps1')
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Remoting.ps1')

    $missing = @(Test-TestSshPrerequisite)
    if ($missing.Count -gt 0 -and $env:CI -eq 'true') {
        throw ('CI must run the SSH remoting tests; missing: {0}' -f ($missing -join ', '))
    }
    $script:skip = $missing.Count -gt 0
    if ($script:skip) {
        return
    }
    $script:fake = Start-TestFakeCloud
    $moduleRoot = Join-Path -Path $repoRoot -ChildPath 'powershell'
    if ($env:AZCM_MODULE_PATH) {
        $moduleRoot = Split-Path -Path (Split-Path -Path (Split-Path -Path $env:AZCM_MODULE_PATH -Parent) -Parent) -Parent
    }
    $machines = @(
        @{ Address = '127.0.0.11'; Name = 'srv-01' },
        @{ Address = '127.0.0.12'; Name = 'srv-02' },
        @{ Address = '127.0.0.13'; Name = 'srv-03' },
        @{ Address = '127.0.0.14'; Name = 'srv-04' },
        @{ Address = '127.0.0.15'; Name = 'srv-05' },
        # Not a valid resource name (ends with an underscore): connect fails with AZCM0102.
        @{ Address = '127.0.0.17'; Name = 'srv_bad_' },
        # SSH on another port (-Port).
        @{ Address = '127.0.0.18'; Name = 'srv-port'; Port = 2222 }
    )
    $script:fleet = Start-TestSshMachine -Machine $machines -ModuleRoot $moduleRoot
    $script:ssh = $script:fleet.Ssh
    $script:good = @('127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14', '127.0.0.15')
    $script:all = @($script:good + @('127.0.0.17', '127.0.0.16'))
    $script:credential = Get-TestFakeCredential
    $script:target = Get-TestFakeTarget

    function Get-FakeRequestLog {
        # The fake rewrites its log every 200 ms: wait for a fresh copy.
        Start-Sleep -Milliseconds 600
        Get-Content -LiteralPath $env:FAKE_REQUEST_LOG -Raw | ConvertFrom-Json
    }
}

AfterAll {
    if (-not $script:skip) {
        Stop-TestSshMachine -Fleet $script:fleet
        Stop-TestFakeCloud -Fake $script:fake
    }
}

Describe 'Fan-out over SSH remoting' -Skip:(-not $script:canRun) {
    BeforeEach {
        if ($script:skip) {
            Set-ItResult -Skipped -Because 'SSH remoting needs root, sshd and unshare'
        }
    }

    It 'connects every machine with one row each, two at a time with -ThrottleLimit 2' {
        $rows = @(Connect-AzcmAgent -HostName $script:all @script:ssh -ServicePrincipalCredential $script:credential @script:target -ThrottleLimit 2 -Confirm:$false)
        $rows.Count | Should -Be 7 -Because ($rows | Format-Table PSComputerName, MachineName, Status, ErrorId | Out-String)
        foreach ($address in $script:all) {
            @($rows | Where-Object PSComputerName -EQ $address).Count | Should -Be 1 -Because "one row for $address"
        }
        foreach ($m in ($script:fleet.Machines | Where-Object { $_.Name -notin @('srv_bad_', 'srv-port') })) {
            $row = $rows | Where-Object PSComputerName -EQ $m.Address
            $row.PSObject.TypeNames | Should -Contain 'Deserialized.AzcmAgent.Connection'
            $row.MachineName | Should -Be $m.Name
            $row.Status | Should -Be 'Connected'
            $row.ResourceId | Should -Match ('/machines/{0}$' -f $m.Name)
            Test-Path -LiteralPath (Join-Path -Path $m.Root -ChildPath 'var/opt/azcmagent/agentconfig.json') | Should -BeTrue
        }
        $bad = $rows | Where-Object PSComputerName -EQ '127.0.0.17'
        $bad.MachineName | Should -Be 'srv_bad_'
        $bad.Status | Should -Be 'Failed'
        $bad.ErrorId | Should -Match '^AZCM0102'
        $gone = $rows | Where-Object PSComputerName -EQ '127.0.0.16'
        $gone.Status | Should -Be 'Unreachable'
        $gone.ErrorId | Should -Match 'PSSessionOpenFailed'
        $gone.Error | Should -Match '^nothing listens on 127\.0\.0\.16 port 22 \(connection refused\)\. '

        # The default view: which machine answered, and the resource's name, not its whole id.
        $view = $rows | Where-Object Status -EQ 'Connected' | Format-Table | Out-String -Width 120
        $view | Should -Match '(?m)^PSComputerName\s+MachineName\s+Status\s+Resource\s+Error\s*$'
        $view | Should -Match '127\.0\.0\.11\s+srv-01\s+Connected\s+srv-01'
        $view | Should -Not -Match '/subscriptions/'
        # Every row, the unreachable one too, in one table.
        $all = $rows | Format-Table | Out-String -Width 200
        ([regex]::Matches($all, '(?m)^PSComputerName\s')).Count | Should -Be 1 -Because $all
        $all | Should -Match '127\.0\.0\.16\s+Unreachable\s+nothing listens on 127\.0\.0\.16 port 22'
        $all | Should -Match '127\.0\.0\.17\s+srv_bad_\s+Failed'

        # Each connect is one correlation id in the fake's log: never more than two at once.
        $byConnect = Get-FakeRequestLog | Where-Object { $_.correlationId } | Group-Object -Property correlationId
        $byConnect.Count | Should -Be 5
        $spans = foreach ($g in $byConnect) {
            $times = @($g.Group | ForEach-Object { [double]$_.msSinceStart })
            [pscustomobject]@{ Start = ($times | Measure-Object -Minimum).Minimum; End = ($times | Measure-Object -Maximum).Maximum }
        }
        $most = 0
        foreach ($s in $spans) {
            $overlapping = @($spans | Where-Object { $_.Start -le $s.Start -and $_.End -ge $s.Start }).Count
            $most = [Math]::Max($most, $overlapping)
        }
        $most | Should -BeLessOrEqual 2
    }

    It 'shows one parent bar and a child bar per machine named by host, names remote warnings and verbose lines, and sums up as information' {
        # A runspace of its own keeps every record the host would have drawn.
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript({
                    param($ModulePath, $Hosts, $Ssh, $Credential, $Target)
                    Import-Module -Name $ModulePath
                    Connect-AzcmAgent -HostName $Hosts @Ssh -ServicePrincipalCredential $Credential @Target -ThrottleLimit 1 -Confirm:$false
                    $sessions = @(New-PSSession -HostName $Hosts @Ssh)
                    try {
                        Set-AzcmConfig -Session $sessions -Name proxy.bypass -Value 'ARM' -Confirm:$false
                        Clear-AzcmConfig -Session $sessions -Name proxy.bypass -Confirm:$false
                        $null = Get-AzcmAgent -Session $sessions -Verbose
                    } finally {
                        Remove-PSSession -Session $sessions
                    }
                }).AddArgument($modulePath).AddArgument(@('127.0.0.11', '127.0.0.12')).AddArgument($script:ssh).AddArgument($script:credential).AddArgument($script:target)
            $output = @($ps.Invoke())
            @($ps.Streams.Error) | Should -BeNullOrEmpty
            # Output: only the two connection rows, the summary is not one of them.
            @($output | Where-Object { $_.PSObject.TypeNames -contains 'Deserialized.AzcmAgent.Connection' }).Count | Should -Be 2
            @($output | Where-Object { $_ -is [string] }) | Should -BeNullOrEmpty

            $progress = @($ps.Streams.Progress)
            $parents = @($progress | Where-Object Activity -EQ 'Connecting 2 machines')
            $parents.Count | Should -BeGreaterThan 1
            $parentId = $parents[0].ActivityId
            @($parents | ForEach-Object { $_.StatusDescription }) | Should -Contain '0 done, 0 failed, 1 running, 1 waiting'
            @($parents | ForEach-Object { $_.StatusDescription }) | Should -Contain '1 done, 0 failed, 1 running'
            $children = @($progress | Where-Object { $_.ParentActivityId -eq $parentId -and $_.RecordType -ne 'Completed' })
            foreach ($address in @('127.0.0.11', '127.0.0.12')) {
                $own = @($children | Where-Object Activity -EQ ('{0}: Connect' -f $address))
                $own.Count | Should -BeGreaterThan 1 -Because ($children | Format-Table ActivityId, Activity, StatusDescription | Out-String)
                @($own | ForEach-Object { $_.StatusDescription }) | Should -Contain 'checking the local agent state'
                @($own.ActivityId | Select-Object -Unique).Count | Should -Be 1
            }
            @($children.ActivityId | Select-Object -Unique).Count | Should -Be 2

            $warnings = @($ps.Streams.Warning | ForEach-Object { $_.Message })
            foreach ($address in @('127.0.0.11', '127.0.0.12')) {
                $warnings | Should -Contain ('{0}: proxy.bypass has no effect until proxy.url is set' -f $address)
            }
            $verbose = @($ps.Streams.Verbose | ForEach-Object { $_.Message })
            @($verbose | Where-Object { $_ -match '^127\.0\.0\.11: ' }).Count | Should -BeGreaterThan 0
            @($verbose | Where-Object { $_ -match '^127\.0\.0\.12: ' }).Count | Should -BeGreaterThan 0

            $summaries = @($ps.Streams.Information | Where-Object { $_.Tags -contains 'AzcmAgent.FanOutSummary' } | ForEach-Object { [string]$_.MessageData })
            $summaries | Should -Contain 'Connect-AzcmAgent on 2 machines: AlreadyConnected 2'
            $summaries | Should -Contain 'Set-AzcmConfig on 2 machines: Done 2'
        } finally {
            $ps.Dispose()
        }
    }

    It 'pipes the rows of what failed straight back in, also through Export-Csv and Import-Csv' {
        $rows = @(Connect-AzcmAgent -HostName '127.0.0.17', '127.0.0.16', '127.0.0.11' @script:ssh -ServicePrincipalCredential $script:credential @script:target -Confirm:$false)
        $rows.Count | Should -Be 3
        foreach ($row in $rows) {
            # Reached over SSH: HostName holds the address, ComputerName is empty.
            $row.HostName | Should -Be $row.PSComputerName
            $row.ComputerName | Should -BeNullOrEmpty
            $row.SubscriptionId | Should -Be $env:FAKE_SUBSCRIPTION_ID
            $row.ResourceGroupName | Should -Be $env:FAKE_RESOURCE_GROUP
            $row.Location | Should -Be $env:FAKE_LOCATION
        }
        $bad = $rows | Where-Object HostName -EQ '127.0.0.17'
        $bad.Status | Should -Be 'Failed'
        $bad.ErrorCode | Should -Be 'AZCM0102'
        $bad.Error | Should -Not -Match '^AZCM0102'
        ($rows | Where-Object HostName -EQ '127.0.0.16').ErrorCode | Should -BeNullOrEmpty
        ($rows | Where-Object HostName -EQ '127.0.0.11').Status | Should -Be 'AlreadyConnected'

        # The live rows bind by property name: the unreachable one is tried again as it was.
        $again = @($rows | Where-Object Status -EQ 'Unreachable' | Connect-AzcmAgent @script:ssh -ServicePrincipalCredential $script:credential -TenantId $env:FAKE_TENANT_ID -Cloud $env:FAKE_CLOUD -Confirm:$false)
        $again.Count | Should -Be 1
        $again[0].HostName | Should -Be '127.0.0.16'
        $again[0].Status | Should -Be 'Unreachable'

        # Through a CSV file, the failed machine given a valid resource name in its row.
        $csv = Join-Path -Path $TestDrive -ChildPath 'fleet.csv'
        $rows | Export-Csv -LiteralPath $csv -NoTypeInformation
        $back = @(Import-Csv -LiteralPath $csv)
        $back.Count | Should -Be 3
        foreach ($property in @('HostName', 'Status', 'SubscriptionId', 'ResourceGroupName', 'Location', 'ErrorCode', 'Error')) {
            @($back | ForEach-Object { $_.$property }) | Should -Be @($rows | ForEach-Object { [string]$_.$property }) -Because $property
        }
        ($back | Where-Object HostName -EQ '127.0.0.17').Name = 'srv-bad-renamed'
        $retry = @($back | Where-Object Status -NotIn @('Connected', 'AlreadyConnected') | Connect-AzcmAgent @script:ssh -ServicePrincipalCredential $script:credential -TenantId $env:FAKE_TENANT_ID -Cloud $env:FAKE_CLOUD -Confirm:$false -InformationVariable said)
        $retry.Count | Should -Be 2
        $fixed = $retry | Where-Object HostName -EQ '127.0.0.17'
        $fixed.Status | Should -Be 'Connected'
        $fixed.Name | Should -Be 'srv-bad-renamed'
        $fixed.ResourceId | Should -Match '/machines/srv-bad-renamed$'
        ($retry | Where-Object HostName -EQ '127.0.0.16').Status | Should -Be 'Unreachable'
        # Both in one fan-out.
        @($said | ForEach-Object { [string]$_.MessageData }) | Should -Contain 'Connect-AzcmAgent on 2 machines: Connected 1, Unreachable 1'
        $left = @(Disconnect-AzcmAgent -HostName '127.0.0.17' @script:ssh -ForceLocalOnly -Confirm:$false)
        $left[0].Status | Should -Be 'Disconnected'
    }

    It 'brings the support archive of every machine back with Export-AzcmLog -Destination, one file each, and goes on past a failure' {
        $folder = Join-Path -Path $TestDrive -ChildPath 'support'
        $files = @(Export-AzcmLog -HostName '127.0.0.11', '127.0.0.16', '127.0.0.12' @script:ssh -Destination $folder -Confirm:$false -ErrorVariable failures -ErrorAction SilentlyContinue)
        $files.Count | Should -Be 2 -Because ($failures | Out-String)
        foreach ($address in @('127.0.0.11', '127.0.0.12')) {
            $file = $files | Where-Object PSComputerName -EQ $address
            $file | Should -BeOfType [System.IO.FileInfo]
            $file.DirectoryName | Should -Be $folder
            $file.Name | Should -Match ('^{0}-azcmagent-[0-9]{{8}}T[0-9]{{6}}\.zip$' -f [regex]::Escape($address))
            $file.MachineName | Should -Be ($script:fleet.Machines | Where-Object Address -EQ $address).Name
            $file.AzcmFileCount | Should -BeGreaterThan 0
            $file.RemotePath | Should -BeNullOrEmpty
            # A whole zip, with the manifest azcm writes.
            Add-Type -AssemblyName System.IO.Compression.FileSystem
            $zip = [System.IO.Compression.ZipFile]::OpenRead($file.FullName)
            try {
                @($zip.Entries | Where-Object FullName -Like '*manifest*').Count | Should -BeGreaterThan 0
            } finally {
                $zip.Dispose()
            }
        }
        @(Get-ChildItem -LiteralPath $folder).Count | Should -Be 2
        # The copies on the machines are gone.
        @(Get-ChildItem -LiteralPath $HOME -Filter 'azcmagent-*-srv-0[12].zip').Count | Should -Be 0
        # The machine nobody answers is an error of its own, naming it.
        @($failures | Where-Object { $_.FullyQualifiedErrorId -match 'PSSessionOpenFailed' }).Count | Should -Be 1

        # -KeepRemoteCopy leaves the machine's copy where it was written there.
        $kept = @(Export-AzcmLog -HostName '127.0.0.11' @script:ssh -Destination $folder -KeepRemoteCopy -Confirm:$false)
        $kept.Count | Should -Be 1
        $kept[0].RemotePath | Should -Match 'azcmagent-[0-9T]+-srv-01\.zip$'
        Test-Path -LiteralPath $kept[0].RemotePath | Should -BeTrue
        Remove-Item -LiteralPath $kept[0].RemotePath

        # Here, -Destination has nothing to bring back.
        { Export-AzcmLog -Destination $folder -Confirm:$false } | Should -Throw -ErrorId 'DestinationNeedsRemoting,Export-AzcmLog'
    }

    It 'reads every machine with Get-AzcmAgent, and reports the one nobody answers as an error' {
        $rows = @(Get-AzcmAgent -HostName @($script:good + '127.0.0.16') @script:ssh -ErrorVariable unreachable -ErrorAction SilentlyContinue)
        $rows.Count | Should -Be 5
        foreach ($m in ($script:fleet.Machines | Where-Object { $_.Name -notin @('srv_bad_', 'srv-port') })) {
            $row = $rows | Where-Object PSComputerName -EQ $m.Address
            $row.MachineName | Should -Be $m.Name
            $row.ResourceName | Should -Be $m.Name
        }
        @($unreachable | Where-Object { $_.FullyQualifiedErrorId -match 'PSSessionOpenFailed' }).Count | Should -Be 1
    }

    It 'says why a machine is unreachable: refused on the wrong port, a failed sign-in on the right one' {
        $rows = @(Disconnect-AzcmAgent -HostName '127.0.0.18' @script:ssh -ForceLocalOnly -Confirm:$false)
        $rows.Count | Should -Be 1
        $rows[0].Status | Should -Be 'Unreachable'
        $rows[0].Error | Should -Match '^nothing listens on 127\.0\.0\.18 port 22 \(connection refused\)'

        # A key the machines do not know: port 2222 answers, the sign-in fails.
        $strangerKey = Join-Path -Path $script:fleet.Directory -ChildPath 'stranger_key'
        if (-not (Test-Path -LiteralPath $strangerKey)) {
            New-TestSshKey -Path $strangerKey -Comment 'azcm-test-stranger'
        }
        $stranger = @{} + $script:ssh
        $stranger['KeyFilePath'] = $strangerKey
        $stranger['Options'] = @{} + $script:ssh['Options']
        $stranger['Options']['BatchMode'] = 'yes'
        $rows = @(Disconnect-AzcmAgent -HostName '127.0.0.18' -Port 2222 @stranger -ForceLocalOnly -Confirm:$false)
        $rows.Count | Should -Be 1
        $rows[0].Status | Should -Be 'Unreachable'
        $rows[0].Error | Should -Match "^127\.0\.0\.18 port 2222 accepts connections, so the SSH sign-in .* 'ssh -p 2222 root@127\.0\.0\.18' shows which\. "
        $rows[0].PSObject.TypeNames | Should -Contain 'AzcmAgent.Connection'
        $view = $rows | Format-Table | Out-String -Width 200
        $view | Should -Match '(?m)^PSComputerName\s+MachineName\s+Status\s+Resource\s+Error\s*$'
        $view | Should -Match '127\.0\.0\.18\s+Unreachable\s+127\.0\.0\.18 port 2222 accepts'
    }

    It 'reaches a machine whose SSH listens on another port with -Port' {
        $row = Get-AzcmAgent -HostName '127.0.0.18' -Port 2222 @script:ssh
        $row.MachineName | Should -Be 'srv-port'
        $row.PSComputerName | Should -Be '127.0.0.18'
        { Get-AzcmAgent -HostName '127.0.0.18' @script:ssh -ErrorAction Stop } | Should -Throw -Because 'nothing listens on port 22 there'
    }

    It 'runs the -Session cmdlets on sessions the caller opened' {
        $sessions = @(New-PSSession -HostName '127.0.0.11', '127.0.0.12' @script:ssh)
        try {
            $sessions.Count | Should -Be 2
            Set-AzcmConfig -Name proxy.url -Value 'http://proxy.contoso.corp:3128' -Session $sessions -Confirm:$false
            $settings = @(Get-AzcmConfig -Name proxy.url -Session $sessions)
            $settings.Count | Should -Be 2
            @($settings | ForEach-Object { $_.MachineName } | Sort-Object) | Should -Be @('srv-01', 'srv-02')
            @($settings | Where-Object Value -EQ 'http://proxy.contoso.corp:3128').Count | Should -Be 2
            ($settings | Out-String -Width 160) | Should -Match '(?m)^PSComputerName\s+MachineName\s+Name\s+Value\s+Source\s*$'
            ($settings | Out-String -Width 160) | Should -Match '127\.0\.0\.1[12]\s+srv-0[12]\s+proxy\.url'
            Clear-AzcmConfig -Name proxy.url -Session $sessions -Confirm:$false
            @(Get-AzcmConfig -Name proxy.url -Session $sessions | Where-Object Source -EQ 'default').Count | Should -Be 2
            @(Get-AzcmVersion -Session $sessions | ForEach-Object { $_.Version } | Select-Object -Unique) | Should -Be @((Get-AzcmVersion).Version)
            @(New-AzcmKeyPair -Session $sessions -Confirm:$false | Where-Object { $_.PublicKey -like 'MIIB*' }).Count | Should -Be 2
        } finally {
            # The proxy must not outlive this test: the machines disconnect next.
            Clear-AzcmConfig -Name proxy.url -Session $sessions -Confirm:$false -ErrorAction SilentlyContinue
            Remove-PSSession -Session $sessions
        }
    }

    It 'disconnects every machine' {
        $rows = @(Disconnect-AzcmAgent -HostName $script:good @script:ssh -ServicePrincipalCredential $script:credential -TenantId $env:FAKE_TENANT_ID -Confirm:$false)
        @($rows | Where-Object Status -EQ 'Disconnected').Count | Should -Be 5
        foreach ($m in ($script:fleet.Machines | Where-Object { $_.Name -notin @('srv_bad_', 'srv-port') })) {
            Test-Path -LiteralPath (Join-Path -Path $m.Root -ChildPath 'var/opt/azcmagent/agentconfig.json') | Should -BeFalse
        }
    }
}

Describe 'Desired state over SSH remoting' -Skip:(-not $script:canRun) {
    BeforeAll {
        $script:document = Join-Path -Path $repoRoot -ChildPath 'examples/arc-settings.dsc.yaml'
        $script:dscParameters = @{ proxyUrl = 'http://127.0.0.1:3128'; extensionAllowList = @('Microsoft.Azure.Monitor/AzureMonitorLinuxAgent') }
        $script:dscMachines = @('127.0.0.11', '127.0.0.12', '127.0.0.13')
    }

    BeforeEach {
        if ($script:skip) {
            Set-ItResult -Skipped -Because 'SSH remoting needs root, sshd and unshare'
        }
    }

    It 'converges a fleet, finds the one machine that drifted, previews and repairs it; the unreachable one is a row' {
        $set = @(Set-AzcmDesiredState -HostName $script:dscMachines @script:ssh -Path $script:document -Parameter $script:dscParameters -Confirm:$false)
        $set.Count | Should -Be 3 -Because ($set | Format-Table PSComputerName, MachineName, Status, Error | Out-String)
        @($set | Where-Object Status -NE 'Converged').Count | Should -Be 0 -Because ($set | Format-Table PSComputerName, Status, Error | Out-String)

        # Someone changes srv-02's proxy.
        $srv02 = New-PSSession -HostName '127.0.0.12' @script:ssh
        Set-AzcmConfig -Session $srv02 -Name proxy.url -Value 'http://127.0.0.1:9999' -Confirm:$false
        $tested = @(Test-AzcmDesiredState -HostName ($script:dscMachines + '127.0.0.16') @script:ssh -Path $script:document -Parameter $script:dscParameters)
        $tested.Count | Should -Be 4 -Because ($tested | Format-Table PSComputerName, MachineName, Status, Error | Out-String)
        $drifted = $tested | Where-Object PSComputerName -EQ '127.0.0.12'
        $drifted.MachineName | Should -Be 'srv-02'
        $drifted.Resource | Should -Be 'Azure Arc agent settings'
        $drifted.Status | Should -Be 'Drifted'
        $drifted.InDesiredState | Should -BeFalse
        @($drifted.DifferingProperties) | Should -Be @('proxy.url')
        @($tested | Where-Object { $_.PSComputerName -in @('127.0.0.11', '127.0.0.13') -and $_.Status -eq 'InDesiredState' }).Count | Should -Be 2
        $unreachable = $tested | Where-Object PSComputerName -EQ '127.0.0.16'
        $unreachable.Status | Should -Be 'Unreachable'
        $unreachable.Error | Should -Match 'nothing listens on 127.0.0.16'
        # One table for the mixed result.
        $text = $tested | Format-Table | Out-String
        ([regex]::Matches($text, 'PSComputerName')).Count | Should -Be 1

        # -WhatIf: each machine runs dsc's what-if; srv-02 would change, nothing does.
        $preview = @(Set-AzcmDesiredState -HostName $script:dscMachines @script:ssh -Path $script:document -Parameter $script:dscParameters -WhatIf)
        ($preview | Where-Object PSComputerName -EQ '127.0.0.12').Status | Should -Be 'WouldChange'
        (Get-AzcmConfig -Session $srv02 -Name proxy.url).Value | Should -Be 'http://127.0.0.1:9999'

        $repaired = @(Set-AzcmDesiredState -HostName $script:dscMachines @script:ssh -Path $script:document -Parameter $script:dscParameters -Confirm:$false)
        ($repaired | Where-Object PSComputerName -EQ '127.0.0.12').Status | Should -Be 'Converged'
        @($repaired | Where-Object { $_.PSComputerName -ne '127.0.0.12' -and $_.Status -ne 'InDesiredState' }).Count | Should -Be 0
        $final = @(Test-AzcmDesiredState -HostName $script:dscMachines @script:ssh -Path $script:document -Parameter $script:dscParameters)
        @($final | Where-Object Status -EQ 'InDesiredState').Count | Should -Be 3
        Remove-PSSession -Session $srv02
    }
}
