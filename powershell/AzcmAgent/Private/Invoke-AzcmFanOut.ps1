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

        [Parameter(Mandatory = $true)]
        [System.Management.Automation.Runspaces.PSSession[]]$Session,

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

    $targets = $Session
    if ($Action) {
        $targets = @($Session | Where-Object { $Cmdlet.ShouldProcess($_.ComputerName, $Action) })
        if ($targets.Count -eq 0) {
            return
        }
    }

    # Fan-out and local-only parameters stay here; switches travel as booleans.
    $localOnly = @('Session', 'ThrottleLimit', 'WhatIf', 'Confirm', 'OutVariable', 'OutBuffer', 'PipelineVariable', 'InformationVariable', 'WarningVariable', 'ErrorVariable')
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
    Invoke-Command -Session $targets -ScriptBlock $remote -ArgumentList @($commandName, $forward, $FailureTypeName) -ThrottleLimit $ThrottleLimit
}
