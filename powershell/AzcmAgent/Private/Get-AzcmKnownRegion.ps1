function Get-AzcmKnownRegion {
    # The regions a cloud knows, for tab completion: azcm reports them (details.knownRegions of
    # AZCM0020) for a region it does not know, before any network I/O.
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory = $false)]
        [string]$Cloud
    )

    $arguments = @('--location', 'not-a-region')
    if ($Cloud) {
        $arguments += @('--cloud', $Cloud)
    }
    $regions = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('check') -ArgumentList $arguments -FailureResultKey 'knownRegions'
    foreach ($region in @($regions)) {
        if ($region -is [string]) {
            $region
        }
    }
}
