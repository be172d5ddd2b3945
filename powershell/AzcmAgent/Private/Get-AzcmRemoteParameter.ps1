function Get-AzcmRemoteParameter {
    # The bound parameters a cmdlet forwards to the same cmdlet on a remote machine: fan-out
    # and local-only parameters removed, switches as booleans (they serialise cleanly), and
    # -Confirm:$false where ShouldProcess was already answered locally.
    [CmdletBinding()]
    [OutputType([hashtable])]
    param(
        [Parameter(Mandatory = $true)]
        [System.Collections.IDictionary]$BoundParameters,

        [Parameter(Mandatory = $false)]
        [switch]$ConfirmedLocally
    )

    $localOnly = @('Session', 'ThrottleLimit', 'WhatIf', 'Confirm', 'OutVariable', 'OutBuffer', 'PipelineVariable', 'InformationVariable', 'WarningVariable', 'ErrorVariable')
    $forward = @{}
    foreach ($key in $BoundParameters.Keys) {
        if ($localOnly -contains $key) {
            continue
        }
        $value = $BoundParameters[$key]
        if ($value -is [System.Management.Automation.SwitchParameter]) {
            $value = $value.IsPresent
        }
        $forward[$key] = $value
    }
    if ($ConfirmedLocally) {
        $forward['Confirm'] = $false
    }
    $forward
}
