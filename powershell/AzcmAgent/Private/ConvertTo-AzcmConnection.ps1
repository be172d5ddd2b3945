function ConvertTo-AzcmConnection {
    # Shapes azcm's connect or disconnect result as an AzcmAgent.Connection object.
    [CmdletBinding()]
    [OutputType('AzcmAgent.Connection')]
    param(
        [Parameter(Mandatory = $true)]
        [object]$Result,

        [Parameter(Mandatory = $true)]
        [ValidateSet('Connect', 'Disconnect')]
        [string]$Operation
    )

    $status = 'Connected'
    if ($Operation -eq 'Disconnect') {
        $status = 'Disconnected'
        if ($null -ne $Result.PSObject.Properties['notConnected'] -and $Result.notConnected) {
            $status = 'NotConnected'
        }
    } elseif ($Result.alreadyConnected) {
        $status = 'AlreadyConnected'
    }
    if ($Result.whatIf) {
        $status = 'WhatIf'
    }
    [pscustomobject]@{
        PSTypeName     = 'AzcmAgent.Connection'
        ComputerName   = [System.Environment]::MachineName
        Status         = $status
        ResourceId     = [string]$Result.resourceId
        Location       = [string]$Result.location
        VmId           = [string]$Result.vmId
        PrincipalId    = [string]$Result.principalId
        CorrelationId  = [string]$Result.correlationId
        Actions        = @($Result.actions | Where-Object { $null -ne $_ } | ForEach-Object { ConvertTo-AzcmAction -Action $_ })
        Services       = @($Result.services | ForEach-Object { Add-AzcmDisplayText -InputObject $_ -Text { '{0}: {1}' -f $this.name, ([string]$this.result -creplace '([a-z])([A-Z])', '$1 $2').ToLowerInvariant() } })
        Steps          = @($Result.steps | ForEach-Object { Add-AzcmDisplayText -InputObject $_ -Text { '{0} {1} ms' -f $this.name, $this.ms } })
        Error          = $null
    }
}
