function ConvertTo-AzcmUnreachable {
    # One row per requested machine no session was opened to: Status Unreachable, the remoting
    # error's id and message (matched by the machine's name where the error names it).
    [CmdletBinding()]
    param(
        [Parameter(Mandatory = $true)]
        [string[]]$Requested,

        [Parameter(Mandatory = $false)]
        [AllowEmptyCollection()]
        [object[]]$Opened = @(),

        [Parameter(Mandatory = $false)]
        [AllowNull()]
        [object[]]$Failure
    )

    $reached = @($Opened | ForEach-Object { $_.ComputerName })
    $failures = @($Failure | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
    foreach ($name in $Requested) {
        if ($reached -contains $name) {
            continue
        }
        $record = $failures | Where-Object {
            ([string]$_.TargetObject -eq $name) -or ($_.TargetObject -and $_.TargetObject.PSObject.Properties['ConnectionInfo'] -and [string]$_.TargetObject.ConnectionInfo.ComputerName -eq $name) -or ($_.OriginInfo -and [string]$_.OriginInfo.PSComputerName -eq $name) -or ([string]$_.Exception.Message).Contains($name)
        } | Select-Object -First 1
        if ($null -eq $record -and $failures.Count -eq 1) {
            $record = $failures[0]
        }
        if ($null -eq $record) {
            $exception = New-Object -TypeName System.Management.Automation.Remoting.PSRemotingTransportException -ArgumentList ('no session could be opened to {0}' -f $name)
            $record = New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList @($exception, 'SessionNotOpened', [System.Management.Automation.ErrorCategory]::ConnectionError, $name)
        }
        [pscustomobject]@{
            PSComputerName = $name
            MachineName    = $null
            Status         = 'Unreachable'
            ResourceId     = $null
            ErrorId        = [string]$record.FullyQualifiedErrorId
            Error          = [string]$record.Exception.Message
        }
    }
}
