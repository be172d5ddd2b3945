# The properties of an AzcmAgent.DesiredState row in a fan-out, in order.
$script:AzcmDesiredStateRowShape = @('PSComputerName', 'MachineName', 'HostName', 'ComputerName', 'Resource', 'Type', 'Status', 'InDesiredState', 'DifferingProperties', 'ChangedProperties', 'ErrorCode', 'ErrorId', 'Error')

function Resolve-AzcmDesiredStateDocument {
    # The configuration document Test-/Set-AzcmDesiredState were given (-Path or -Document): its
    # text, what to call it in a confirmation, and the fan-out request, in which the text
    # travels instead of a local path the machines do not have.
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory = $true)]
        [System.Management.Automation.PSCmdlet]$Cmdlet
    )

    $bound = $Cmdlet.MyInvocation.BoundParameters
    $text = [string]$bound['Document']
    $label = 'the configuration document'
    if ($bound.ContainsKey('Path')) {
        $resolved = Resolve-Path -LiteralPath $bound['Path'] -ErrorAction Stop
        $text = [System.IO.File]::ReadAllText($resolved.ProviderPath)
        $label = $resolved.ProviderPath
    }
    $request = @{}
    foreach ($key in $bound.Keys) {
        if ($key -ne 'Path') {
            $request[$key] = $bound[$key]
        }
    }
    $request['Document'] = $text
    [pscustomobject]@{ Text = $text; Label = $label; Request = $request }
}
