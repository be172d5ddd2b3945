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
        [int]$ThrottleLimit = 32
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

    $remote = {
        param($Name, $Arguments)
        Import-Module -Name AzcmAgent -ErrorAction Stop
        & $Name @Arguments
    }
    $commandName = $Cmdlet.MyInvocation.MyCommand.Name
    Invoke-Command -Session $targets -ScriptBlock $remote -ArgumentList @($commandName, $forward) -ThrottleLimit $ThrottleLimit
}
