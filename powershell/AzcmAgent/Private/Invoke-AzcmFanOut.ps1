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

    # With -ComputerName the sessions are opened here (and closed at the end); a machine that
    # cannot be reached answers like a failed one.
    $opened = @()
    if ($ComputerName) {
        $sessionArgs = @{ ComputerName = $ComputerName; ErrorAction = 'SilentlyContinue'; ErrorVariable = 'unreachable' }
        if ($Credential) {
            $sessionArgs['Credential'] = $Credential
        }
        $opened = @(New-PSSession @sessionArgs)
        foreach ($failure in $unreachable) {
            if (-not $FailureTypeName) {
                $Cmdlet.WriteError($failure)
                continue
            }
            $computer = [string]$failure.TargetObject
            if ($failure.OriginInfo) {
                $computer = [string]$failure.OriginInfo.PSComputerName
            }
            [pscustomobject]@{
                PSTypeName     = $FailureTypeName
                PSComputerName = $computer
                Status         = 'Unreachable'
                ResourceId     = $null
                ErrorId        = [string]$failure.FullyQualifiedErrorId
                Error          = [string]$failure.Exception.Message
            }
        }
        $Session = $opened
    }
    if (-not $Session) {
        return
    }

    $targets = $Session
    if ($Action) {
        $targets = @($Session | Where-Object { $Cmdlet.ShouldProcess($_.ComputerName, $Action) })
        if ($targets.Count -eq 0) {
            if ($opened) {
                Remove-PSSession -Session $opened
            }
            return
        }
    }

    # Fan-out and local-only parameters stay here; switches travel as booleans.
    $localOnly = @('Session', 'ComputerName', 'Credential', 'ThrottleLimit', 'WhatIf', 'Confirm', 'OutVariable', 'OutBuffer', 'PipelineVariable', 'InformationVariable', 'WarningVariable', 'ErrorVariable')
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
    $remote = {
        param($Name, $Arguments, $FailureType)
        try {
            Import-Module -Name AzcmAgent -ErrorAction Stop
            & $Name @Arguments
        } catch {
            if (-not $FailureType) {
                throw
            }
            [pscustomobject]@{
                PSTypeName = $FailureType
                Status     = 'Failed'
                ResourceId = $null
                ErrorId    = [string]$_.FullyQualifiedErrorId
                Error      = [string]$_.Exception.Message
            }
        }
    }
    $commandName = $Cmdlet.MyInvocation.MyCommand.Name
    try {
        Invoke-Command -Session $targets -ScriptBlock $remote -ArgumentList @($commandName, $forward, $FailureTypeName) -ThrottleLimit $ThrottleLimit
    } finally {
        if ($opened) {
            Remove-PSSession -Session $opened
        }
    }
}
