function Invoke-AzcmFanOut {
    # Runs the calling AzcmAgent cmdlet on many machines over PowerShell remoting, all in one
    # throttled run. Each request is one set of the cmdlet's parameters (one pipeline record, or
    # the command line) with the machines it names (-Session, -ComputerName, -HostName); only
    # the cmdlet name and its arguments travel, and each machine needs the module installed.
    # With -Action (or -ActionFor, which words the action per request), ShouldProcess is asked
    # here per machine and the remote call runs with -Confirm:$false. A failure on one machine is reported for that machine and never stops
    # the others. While it runs, one parent progress bar counts the machines and each running
    # machine has a child bar named by host; remote warnings and verbose lines name their
    # machine; at the end one line per outcome is written as information.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory = $true)]
        [System.Management.Automation.PSCmdlet]$Cmdlet,

        [Parameter(Mandatory = $false)]
        [hashtable[]]$Request,

        [Parameter(Mandatory = $false)]
        [string]$Action,

        [Parameter(Mandatory = $false)]
        [scriptblock]$ActionFor,

        [Parameter(Mandatory = $false)]
        [hashtable]$Override = @{},

        [Parameter(Mandatory = $false)]
        [ValidateRange(1, 1024)]
        [int]$ThrottleLimit = 32,

        [Parameter(Mandatory = $false)]
        [string]$FailureTypeName,

        # Runs on each machine's rows (row, session) once its command has ended: the session is
        # busy until then, and a call on it (Copy-Item -FromSession) would fail.
        [Parameter(Mandatory = $false)]
        [scriptblock]$OnRow,

        # The properties of a -FailureTypeName row, in order (default: a connection's).
        [Parameter(Mandatory = $false)]
        [string[]]$RowShape
    )

    if (-not $PSBoundParameters.ContainsKey('Request')) {
        $only = @{}
        foreach ($key in $Cmdlet.MyInvocation.BoundParameters.Keys) {
            $only[$key] = $Cmdlet.MyInvocation.BoundParameters[$key]
        }
        $Request = @($only)
    }
    $commandName = $Cmdlet.MyInvocation.MyCommand.Name

    # The machines, in the order they were asked for; one asked twice runs once.
    $machines = New-Object -TypeName 'System.Collections.Generic.List[object]'
    $seen = @{}
    foreach ($r in $Request) {
        $named = @()
        foreach ($s in @($r['Session'])) {
            if ($null -ne $s) {
                $via = 'ComputerName'
                if ([string]$s.Transport -eq 'SSH') {
                    $via = 'HostName'
                }
                $named += [pscustomobject]@{ Via = $via; Name = [string]$s.ComputerName; Session = $s; Key = 'session:{0}' -f $s.InstanceId }
            }
        }
        foreach ($via in @('ComputerName', 'HostName')) {
            foreach ($n in @($r[$via])) {
                if (-not [string]::IsNullOrWhiteSpace([string]$n)) {
                    $named += [pscustomobject]@{ Via = $via; Name = [string]$n; Session = $null; Key = '{0}:{1}' -f $via, ([string]$n).ToLowerInvariant() }
                }
            }
        }
        foreach ($m in $named) {
            if ($seen.ContainsKey($m.Key)) {
                Write-Warning -Message ('{0} was asked for more than once; it runs once, as the first request for it says.' -f $m.Name)
                continue
            }
            $seen[$m.Key] = $true
            Add-Member -InputObject $m -NotePropertyName 'Request' -NotePropertyValue $r
            Add-Member -InputObject $m -NotePropertyName 'Index' -NotePropertyValue $machines.Count
            $machines.Add($m)
        }
    }
    if ($machines.Count -eq 0) {
        return
    }

    # What connects: not taken from pipeline records, so the first request that has it holds it.
    $connection = @{}
    foreach ($name in @('Credential', 'UserName', 'Port', 'Options', 'KeyFilePath')) {
        foreach ($r in $Request) {
            if ($r.ContainsKey($name)) {
                $connection[$name] = $r[$name]
                break
            }
        }
    }

    # A row of a result type (-FailureTypeName) names its machine as it was reached (HostName
    # for SSH, ComputerName for WinRM), what it was asked (subscription, resource group,
    # location, name) and the AZCM code apart from the message: such rows pipe straight back
    # into the cmdlet and survive Export-Csv/Import-Csv.
    $shape = @('PSComputerName', 'MachineName', 'HostName', 'ComputerName', 'Status', 'SubscriptionId', 'ResourceGroupName', 'Location', 'Name', 'ResourceId', 'VmId', 'PrincipalId', 'CorrelationId', 'Actions', 'Services', 'Steps', 'ErrorCode', 'ErrorId', 'Error')
    if ($RowShape) {
        $shape = $RowShape
    }
    $asked = @('SubscriptionId', 'ResourceGroupName', 'Location', 'Name')
    $toRow = {
        param($Row, $Machine)
        $ordered = [ordered]@{}
        foreach ($property in $shape) {
            $value = $null
            if ($null -ne $Row.PSObject.Properties[$property]) {
                $value = $Row.$property
            }
            $ordered[$property] = $value
        }
        $ordered['PSComputerName'] = $Machine.Name
        $ordered['HostName'] = $null
        $ordered['ComputerName'] = $null
        $ordered[$Machine.Via] = $Machine.Name
        foreach ($property in $asked) {
            if ($shape -contains $property -and $Machine.Request.ContainsKey($property)) {
                $ordered[$property] = [string]$Machine.Request[$property]
            }
        }
        if ([string]$ordered['ErrorId'] -match '^(AZCM[0-9]{4})\b') {
            $ordered['ErrorCode'] = $Matches[1]
            # The code has its own column; the message keeps the words.
            $prefix = '{0}: ' -f $Matches[1]
            if ([string]$ordered['Error'] -and ([string]$ordered['Error']).StartsWith($prefix)) {
                $ordered['Error'] = ([string]$ordered['Error']).Substring($prefix.Length)
            }
        }
        $shaped = New-Object -TypeName PSObject -Property $ordered
        $shaped.PSObject.TypeNames.Clear()
        foreach ($typeName in $Row.PSObject.TypeNames) {
            $shaped.PSObject.TypeNames.Add($typeName)
        }
        # A remote row keeps its Deserialized type (its view shows where it came from).
        if (-not ($shaped.PSObject.TypeNames -match [regex]::Escape($FailureTypeName))) {
            $shaped.PSObject.TypeNames.Insert(0, $FailureTypeName)
        }
        $shaped
    }

    $outcomes = [ordered]@{}
    $count = {
        param($Outcome)
        if ($outcomes.Contains($Outcome)) {
            $outcomes[$Outcome] = $outcomes[$Outcome] + 1
        } else {
            $outcomes[$Outcome] = 1
        }
    }
    $failedOutcomes = @('Failed', 'Unreachable')

    # Sessions: the caller's, or opened here (closed at the end). A machine no session opens to
    # is Unreachable (a row with -FailureTypeName; else New-PSSession's own error, once).
    $opened = @()
    $openErrors = @{ ErrorVariable = 'failedToOpen' }
    if ($FailureTypeName) {
        $openErrors['ErrorAction'] = 'SilentlyContinue'
    }
    $unreachable = @()
    $byWinRm = @($machines | Where-Object { $null -eq $_.Session -and $_.Via -eq 'ComputerName' })
    if ($byWinRm.Count -gt 0) {
        $sessionArgs = @{ ComputerName = @($byWinRm | ForEach-Object { $_.Name }) } + $openErrors
        if ($connection.ContainsKey('Credential')) {
            $sessionArgs['Credential'] = $connection['Credential']
        }
        $fresh = @(New-PSSession @sessionArgs)
        $opened += $fresh
        if ($FailureTypeName) {
            $unreachable += @(ConvertTo-AzcmUnreachable -Requested @($byWinRm | ForEach-Object { $_.Name }) -Opened $fresh -Failure $failedToOpen)
        }
    }
    $bySsh = @($machines | Where-Object { $null -eq $_.Session -and $_.Via -eq 'HostName' })
    if ($bySsh.Count -gt 0) {
        if (-not (Get-Command -Name 'New-PSSession').Parameters.ContainsKey('HostName')) {
            $exception = New-Object -TypeName System.NotSupportedException -ArgumentList 'SSH remoting (-HostName, -UserName, -KeyFilePath, -Port, -Options) needs PowerShell 7; Windows PowerShell 5.1 remotes over WinRM: use -ComputerName or -Session.'
            $Cmdlet.ThrowTerminatingError((New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList @($exception, 'SshRemotingNeedsPowerShell7', [System.Management.Automation.ErrorCategory]::NotImplemented, @($bySsh | ForEach-Object { $_.Name }))))
        }
        # Where ssh connects (user, port, options), and then how it signs in.
        $sshTarget = @{}
        foreach ($name in @('UserName', 'Port', 'Options')) {
            if ($connection.ContainsKey($name)) {
                $sshTarget[$name] = $connection[$name]
            }
        }
        $sshArgs = $sshTarget + $openErrors
        if ($connection.ContainsKey('KeyFilePath')) {
            $sshArgs['KeyFilePath'] = $connection['KeyFilePath']
        }
        $fresh = @(New-PSSession -HostName @($bySsh | ForEach-Object { $_.Name }) @sshArgs)
        $opened += $fresh
        if ($FailureTypeName) {
            $sshUnreachable = @(ConvertTo-AzcmUnreachable -Requested @($bySsh | ForEach-Object { $_.Name }) -Opened $fresh -Failure $failedToOpen)
            if ($sshUnreachable.Count -gt 0) {
                # PowerShell's message does not say why; the row does.
                $reasons = Get-AzcmSshFailureReason -HostName @($sshUnreachable | ForEach-Object { $_.PSComputerName }) @sshTarget
                foreach ($row in $sshUnreachable) {
                    if ($reasons.ContainsKey($row.PSComputerName)) {
                        $row.Error = '{0}. {1}' -f $reasons[$row.PSComputerName], $row.Error
                    }
                }
            }
            $unreachable += $sshUnreachable
        }
    }
    # Each opened session goes to the first machine of its name without one.
    foreach ($s in $opened) {
        $via = 'ComputerName'
        if ([string]$s.Transport -eq 'SSH') {
            $via = 'HostName'
        }
        $owner = $machines | Where-Object { $null -eq $_.Session -and $_.Via -eq $via -and $_.Name -eq $s.ComputerName } | Select-Object -First 1
        if ($null -ne $owner) {
            $owner.Session = $s
        }
    }

    $total = $machines.Count
    $gerunds = @{ Connect = 'Connecting'; Disconnect = 'Disconnecting'; Get = 'Reading'; Set = 'Configuring'; Clear = 'Configuring'; Remove = 'Removing extensions on'; Export = 'Collecting logs from'; Test = 'Testing'; New = 'Generating keys on' }
    $verb = $commandName.Split('-')[0]
    $gerund = $gerunds[$verb]
    if (-not $gerund) {
        $gerund = $commandName + ' on'
    }
    $parentActivity = '{0} {1} machines' -f $gerund, $total
    $parentId = Get-Random -Minimum 100000 -Maximum 1000000
    $done = 0
    $failed = 0

    foreach ($row in $unreachable) {
        $machine = $machines | Where-Object { $null -eq $_.Session -and $_.Name -eq $row.PSComputerName } | Select-Object -First 1
        $row.PSObject.TypeNames.Insert(0, $FailureTypeName)
        $row.PSObject.TypeNames.Insert(0, ('{0}#Unreachable' -f $FailureTypeName))
        if ($null -ne $machine) {
            $row = & $toRow $row $machine
        }
        & $count 'Unreachable'
        $done++
        $failed++
        $row
    }

    if (-not $FailureTypeName) {
        # New-PSSession said why; the machine counts as done.
        foreach ($m in $machines) {
            if ($null -eq $m.Session) {
                & $count 'Unreachable'
                $done++
                $failed++
            }
        }
    }

    $targets = @()
    $targetMachines = @()
    $job = $null
    try {
        foreach ($m in $machines) {
            if ($null -eq $m.Session) {
                continue
            }
            $asking = $Action
            if ($ActionFor) {
                $asking = [string](& $ActionFor $m.Request)
            }
            if ($asking -and -not (Confirm-AzcmAction -Cmdlet $Cmdlet -Target $m.Name -Action $asking)) {
                $total--
                continue
            }
            $targets += $m.Session
            $targetMachines += $m
        }
        if ($targets.Count -gt 0) {
            # Fan-out and local-only parameters stay here; switches travel as booleans.
            $localOnly = @('Session', 'ComputerName', 'Credential', 'HostName', 'UserName', 'KeyFilePath', 'Port', 'Options', 'ThrottleLimit', 'Destination', 'KeepRemoteCopy', 'WhatIf', 'Confirm', 'OutVariable', 'OutBuffer', 'PipelineVariable', 'InformationVariable', 'WarningVariable', 'ErrorVariable')
            $forwardOf = {
                param($Parameters)
                $forward = @{}
                foreach ($key in $Parameters.Keys) {
                    if ($localOnly -contains $key) {
                        continue
                    }
                    $value = $Parameters[$key]
                    if ($value -is [System.Management.Automation.SwitchParameter]) {
                        $value = $value.IsPresent
                    }
                    if ($value -is [string] -and $value.Length -eq 0) {
                        continue
                    }
                    $forward[$key] = $value
                }
                foreach ($key in $Override.Keys) {
                    $forward[$key] = $Override[$key]
                }
                if ($Action -or $ActionFor) {
                    $forward['Confirm'] = $false
                }
                $forward
            }

            # One set of arguments travels with the call; several (pipeline records asking
            # different things) are put into each machine's session first, all at once.
            $requests = @()
            foreach ($m in $targetMachines) {
                if (-not @($requests | Where-Object { [object]::ReferenceEquals($_, $m.Request) })) {
                    $requests += , $m.Request
                }
            }
            $common = $null
            if ($requests.Count -eq 1) {
                $common = & $forwardOf $requests[0]
            } else {
                $placing = @()
                foreach ($r in $requests) {
                    $group = @($targetMachines | Where-Object { [object]::ReferenceEquals($_.Request, $r) } | ForEach-Object { $_.Session })
                    $placing += Invoke-Command -Session $group -ScriptBlock {
                        param($Arguments)
                        $global:AzcmFanOutArguments = $Arguments
                    } -ArgumentList @(, (& $forwardOf $r)) -AsJob
                }
                $null = $placing | Wait-Job
                $placing | Remove-Job -Force -WhatIf:$false -Confirm:$false
            }

            # With -FailureTypeName a failing machine answers with a result object (Status Failed,
            # the AZCM code and message) instead of an error record. Every row names the machine
            # that answered (its own name; PSComputerName is the address it was reached at).
            $remote = {
                param($Name, $Arguments, $FailureType)
                if ($null -eq $Arguments) {
                    $Arguments = $global:AzcmFanOutArguments
                    Remove-Variable -Name 'AzcmFanOutArguments' -Scope Global -ErrorAction SilentlyContinue
                }
                $machine = [System.Environment]::MachineName
                try {
                    if ($null -eq $Arguments) {
                        throw 'the arguments of this fan-out did not reach the machine'
                    }
                    Import-Module -Name AzcmAgent -ErrorAction Stop
                    & $Name @Arguments | ForEach-Object {
                        Add-Member -InputObject $_ -NotePropertyName 'MachineName' -NotePropertyValue $machine -Force -PassThru
                    }
                } catch {
                    if (-not $FailureType) {
                        throw
                    }
                    [pscustomobject]@{
                        PSTypeName  = $FailureType
                        MachineName = $machine
                        Status      = 'Failed'
                        ResourceId  = $null
                        ErrorId     = [string]$_.FullyQualifiedErrorId
                        Error       = [string]$_.Exception.Message
                    }
                }
            }

            # The views show PSComputerName (and MachineName) themselves: -HideComputerName keeps
            # PowerShell from appending a second PSComputerName column; the property stays.
            $job = Invoke-Command -Session $targets -ScriptBlock $remote -ArgumentList @($commandName, $common, $FailureTypeName) -ThrottleLimit $ThrottleLimit -HideComputerName -AsJob
            $children = @($job.ChildJobs)
            $finished = New-Object -TypeName 'bool[]' -ArgumentList $children.Count
            $answered = New-Object -TypeName 'bool[]' -ArgumentList $children.Count
            # With -OnRow, a machine's rows wait here until its command has ended.
            $held = @{}
            $erred = New-Object -TypeName 'bool[]' -ArgumentList $children.Count
            $drawn = [DateTime]::MinValue
            $lastStatus = ''
            while ($true) {
                $running = 0
                $waiting = 0
                for ($i = 0; $i -lt $children.Count; $i++) {
                    $child = $children[$i]
                    $machine = $targetMachines[$i]
                    $label = $machine.Name
                    $state = $child.JobStateInfo.State
                    # The state is read before the streams, so nothing that came before the end is left.
                    $ended = @('Completed', 'Failed', 'Stopped') -contains [string]$state
                    if ([string]$state -eq 'Running') {
                        $running++
                    } elseif ([string]$state -eq 'NotStarted') {
                        $waiting++
                    }
                    foreach ($record in $child.Progress.ReadAll()) {
                        $childId = $parentId + 1 + $machine.Index
                        if ($record.RecordType -eq [System.Management.Automation.ProgressRecordType]::Completed) {
                            continue
                        }
                        $status = $record.StatusDescription
                        if ([string]::IsNullOrEmpty($status)) {
                            $status = 'Working'
                        }
                        Write-Progress -Id $childId -ParentId $parentId -Activity ('{0}: {1}' -f $label, $record.Activity) -Status $status -PercentComplete $record.PercentComplete
                    }
                    foreach ($record in $child.Verbose.ReadAll()) {
                        Write-Verbose -Message ('{0}: {1}' -f $label, $record.Message)
                    }
                    foreach ($record in $child.Debug.ReadAll()) {
                        Write-Debug -Message ('{0}: {1}' -f $label, $record.Message)
                    }
                    foreach ($record in $child.Warning.ReadAll()) {
                        Write-Warning -Message ('{0}: {1}' -f $label, $record.Message)
                    }
                    foreach ($record in $child.Information.ReadAll()) {
                        $tags = @($record.Tags) + 'AzcmAgent.Remote'
                        if (@($record.Tags) -contains 'AzcmAgent.Prompt') {
                            Write-Information -MessageData ('{0}: {1}' -f $label, $record.MessageData) -Tags $tags -InformationAction Continue
                        } else {
                            Write-Information -MessageData ('{0}: {1}' -f $label, $record.MessageData) -Tags $tags
                        }
                    }
                    foreach ($record in $child.Error.ReadAll()) {
                        $erred[$i] = $true
                        $Cmdlet.WriteError($record)
                    }
                    $arrived = @($child.Output.ReadAll())
                    if ($OnRow) {
                        $arrived = @($held[$i]) + $arrived | Where-Object { $null -ne $_ }
                        $held[$i] = @()
                        if (-not $ended) {
                            $held[$i] = @($arrived)
                            $arrived = @()
                        }
                    }
                    foreach ($row in $arrived) {
                        $answered[$i] = $true
                        if ($FailureTypeName) {
                            $row = & $toRow $row $machine
                        }
                        if ($OnRow) {
                            $row = & $OnRow $row $machine.Session
                        }
                        $row
                        if ($FailureTypeName -and $null -ne $row -and $null -ne $row.PSObject.Properties['Status'] -and $row.Status) {
                            & $count ([string]$row.Status)
                            if ($failedOutcomes -contains [string]$row.Status) {
                                $failed++
                                $erred[$i] = $true
                            }
                        }
                    }
                    if ($ended -and -not $finished[$i]) {
                        $finished[$i] = $true
                        $done++
                        Write-Progress -Id ($parentId + 1 + $machine.Index) -ParentId $parentId -Activity $label -Completed
                        if (-not $answered[$i] -and -not $erred[$i] -and $null -ne $child.JobStateInfo.Reason) {
                            # The session broke (the machine went away): that machine's failure.
                            $reason = $child.JobStateInfo.Reason
                            if ($FailureTypeName) {
                                $failure = [pscustomobject]@{
                                    PSTypeName  = $FailureTypeName
                                    MachineName = $null
                                    Status      = 'Failed'
                                    ErrorId     = 'RemoteCommandFailed'
                                    Error       = [string]$reason.Message
                                }
                                & $toRow $failure $machine
                            } else {
                                $Cmdlet.WriteError((New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList @($reason, 'RemoteCommandFailed', [System.Management.Automation.ErrorCategory]::OperationStopped, $label)))
                            }
                            $erred[$i] = $true
                        }
                        if ($erred[$i] -and -not $answered[$i]) {
                            $failed++
                            & $count 'Failed'
                        } elseif ($erred[$i] -and -not $FailureTypeName) {
                            $failed++
                            & $count 'Failed'
                        } elseif (-not $FailureTypeName) {
                            & $count 'Done'
                        }
                    }
                }
                $status = '{0} done, {1} failed, {2} running' -f $done, $failed, $running
                if ($waiting -gt 0) {
                    $status = '{0}, {1} waiting' -f $status, $waiting
                }
                # Drawn again at least every 250 ms: PowerShell shows a burst's last record only
                # when another record comes.
                $now = [DateTime]::UtcNow
                if ($status -ne $lastStatus -or ($now - $drawn).TotalMilliseconds -ge 250) {
                    Write-Progress -Id $parentId -Activity $parentActivity -Status $status -PercentComplete ([int](100 * $done / [Math]::Max(1, $total)))
                    $drawn = $now
                    $lastStatus = $status
                }
                if (@($finished | Where-Object { -not $_ }).Count -eq 0) {
                    break
                }
                Start-Sleep -Milliseconds 100
            }
        }
    } finally {
        Write-Progress -Id $parentId -Activity $parentActivity -Completed
        if ($null -ne $job) {
            Stop-Job -Job $job -ErrorAction SilentlyContinue
            Remove-Job -Job $job -Force -ErrorAction SilentlyContinue -WhatIf:$false -Confirm:$false
        }
        if ($opened) {
            Remove-PSSession -Session $opened -WhatIf:$false -Confirm:$false
        }
    }

    # One line for the whole run, per outcome: information, not output.
    if ($outcomes.Count -gt 0) {
        # What went well first, then Failed, then Unreachable.
        $keys = @($outcomes.Keys | Where-Object { $failedOutcomes -notcontains $_ }) + @($failedOutcomes | Where-Object { $outcomes.Contains($_) })
        $parts = @($keys | ForEach-Object { '{0} {1}' -f $_, $outcomes[$_] })
        $noun = 'machines'
        if ($machines.Count -eq 1) {
            $noun = 'machine'
        }
        $summary = '{0} on {1} {2}: {3}' -f $commandName, $machines.Count, $noun, ($parts -join ', ')
        if ($Cmdlet.MyInvocation.BoundParameters.ContainsKey('InformationAction')) {
            Write-Information -MessageData $summary -Tags 'AzcmAgent.FanOutSummary'
        } else {
            Write-Information -MessageData $summary -Tags 'AzcmAgent.FanOutSummary' -InformationAction Continue
        }
    }
}
