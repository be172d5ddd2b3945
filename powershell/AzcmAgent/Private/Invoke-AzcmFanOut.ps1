function Invoke-AzcmFanOut {
    # Runs the calling AzcmAgent cmdlet, with the same arguments, on many machines over
    # PowerShell remoting. Only the cmdlet name and its arguments travel; each machine needs the
    # module installed. With -Action, ShouldProcess is asked here per machine and the remote
    # call runs with -Confirm:$false. A failure on one machine is reported for that machine
    # (PSComputerName) and never stops the others.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory = $true)]
        [System.Management.Automation.PSCmdlet]$Cmdlet,

        [Parameter(Mandatory = $false)]
        [System.Management.Automation.Runspaces.PSSession[]]$Session,

        [Parameter(Mandatory = $false)]
        [string[]]$ComputerName,

        [Parameter(Mandatory = $false)]
        [System.Management.Automation.PSCredential]$Credential,

        [Parameter(Mandatory = $false)]
        [string]$Action,

        [Parameter(Mandatory = $false)]
        [hashtable]$Override = @{},

        [Parameter(Mandatory = $false)]
        [ValidateRange(1, 1024)]
        [int]$ThrottleLimit = 32,

        [Parameter(Mandatory = $false)]
        [string]$FailureTypeName
    )

    # With -ComputerName (WinRM) or -HostName (SSH, PowerShell 7) the sessions are opened here
    # and closed at the end; a machine that cannot be reached answers like a failed one.
    # Cmdlets that report one row per machine (-FailureTypeName) turn a session that did not
    # open into an Unreachable row; the others let New-PSSession's own error through, once.
    $bound = $Cmdlet.MyInvocation.BoundParameters
    $opened = @()
    $unreachable = @()
    $openErrors = @{ ErrorVariable = 'failedToOpen' }
    if ($FailureTypeName) {
        $openErrors['ErrorAction'] = 'SilentlyContinue'
    }
    if ($ComputerName) {
        $sessionArgs = @{ ComputerName = $ComputerName } + $openErrors
        if ($Credential) {
            $sessionArgs['Credential'] = $Credential
        }
        $opened += @(New-PSSession @sessionArgs)
        if ($FailureTypeName) {
            $unreachable += @(ConvertTo-AzcmUnreachable -Requested $ComputerName -Opened $opened -Failure $failedToOpen)
        }
    }
    if ($bound.ContainsKey('HostName')) {
        if (-not (Get-Command -Name 'New-PSSession').Parameters.ContainsKey('HostName')) {
            $exception = New-Object -TypeName System.NotSupportedException -ArgumentList 'SSH remoting (-HostName, -UserName, -KeyFilePath, -Port, -Options) needs PowerShell 7; Windows PowerShell 5.1 remotes over WinRM: use -ComputerName or -Session.'
            $Cmdlet.ThrowTerminatingError((New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList @($exception, 'SshRemotingNeedsPowerShell7', [System.Management.Automation.ErrorCategory]::NotImplemented, $bound['HostName'])))
        }
        # Where ssh connects (user, port, options), and then how it signs in.
        $sshTarget = @{}
        foreach ($name in @('UserName', 'Port', 'Options')) {
            if ($bound.ContainsKey($name)) {
                $sshTarget[$name] = $bound[$name]
            }
        }
        $sshArgs = $sshTarget + $openErrors
        if ($bound.ContainsKey('KeyFilePath')) {
            $sshArgs['KeyFilePath'] = $bound['KeyFilePath']
        }
        $viaSsh = @(New-PSSession -HostName $bound['HostName'] @sshArgs)
        $sshUnreachable = @()
        if ($FailureTypeName) {
            $sshUnreachable = @(ConvertTo-AzcmUnreachable -Requested $bound['HostName'] -Opened $viaSsh -Failure $failedToOpen)
        }
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
        $opened += $viaSsh
    }
    if ($FailureTypeName) {
        # An Unreachable row is a connection result with the remote rows' view (PSComputerName,
        # MachineName), which it shares a table with.
        foreach ($row in $unreachable) {
            $row.PSObject.TypeNames.Insert(0, $FailureTypeName)
            $row.PSObject.TypeNames.Insert(0, ('{0}#Unreachable' -f $FailureTypeName))
            $row
        }
    }
    if ($ComputerName -or $bound.ContainsKey('HostName')) {
        $Session = $opened
    }
    if (-not $Session) {
        return
    }

    $targets = $Session
    if ($Action) {
        $targets = @($Session | Where-Object { Confirm-AzcmAction -Cmdlet $Cmdlet -Target $_.ComputerName -Action $Action })
        if ($targets.Count -eq 0) {
            if ($opened) {
                Remove-PSSession -Session $opened
            }
            return
        }
    }

    # Fan-out and local-only parameters stay here; switches travel as booleans.
    $localOnly = @('Session', 'ComputerName', 'Credential', 'HostName', 'UserName', 'KeyFilePath', 'Port', 'Options', 'ThrottleLimit', 'WhatIf', 'Confirm', 'OutVariable', 'OutBuffer', 'PipelineVariable', 'InformationVariable', 'WarningVariable', 'ErrorVariable')
    $forward = @{}
    foreach ($key in $Cmdlet.MyInvocation.BoundParameters.Keys) {
        if ($localOnly -contains $key) {
            continue
        }
        $value = $Cmdlet.MyInvocation.BoundParameters[$key]
        if ($value -is [System.Management.Automation.SwitchParameter]) {
            $value = $value.IsPresent
        }
        $forward[$key] = $value
    }
    foreach ($key in $Override.Keys) {
        $forward[$key] = $Override[$key]
    }
    if ($Action) {
        $forward['Confirm'] = $false
    }

    # With -FailureTypeName a failing machine answers with a result object (Status Failed, the
    # AZCM code and message) instead of an error record, so a fleet report has one row per machine.
    # Every row also names the machine that answered (its own name; PSComputerName is the
    # address the session was opened to).
    $remote = {
        param($Name, $Arguments, $FailureType)
        $machine = [System.Environment]::MachineName
        try {
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
    $commandName = $Cmdlet.MyInvocation.MyCommand.Name
    try {
        # The views show PSComputerName (and MachineName) themselves: -HideComputerName keeps
        # PowerShell from appending a second PSComputerName column; the property stays.
        Invoke-Command -Session $targets -ScriptBlock $remote -ArgumentList @($commandName, $forward, $FailureTypeName) -ThrottleLimit $ThrottleLimit -HideComputerName
    } finally {
        if ($opened) {
            Remove-PSSession -Session $opened
        }
    }
}
