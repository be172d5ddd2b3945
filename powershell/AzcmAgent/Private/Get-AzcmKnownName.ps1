function Get-AzcmKnownName {
    # The clouds azcm knows (built in, and those of AZCM_CLOUD_FILE) or the regions of one cloud,
    # for tab completion. azcm names them in the details of the error for a name it does not know
    # (knownClouds of AZCM0023, knownRegions of AZCM0020), before any network I/O; a blank cloud
    # name and 'not-a-region' are never known.
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory = $true)]
        [ValidateSet('Cloud', 'Region')]
        [string]$Kind,

        # The cloud whose regions are listed (-Kind Region); azcm's default cloud without it.
        [Parameter(Mandatory = $false)]
        [string]$Cloud
    )

    $arguments = @('--location', 'not-a-region')
    $key = 'knownRegions'
    if ($Kind -eq 'Cloud') {
        $arguments += @('--cloud', ' ')
        $key = 'knownClouds'
    } elseif ($Cloud) {
        $arguments += @('--cloud', $Cloud)
    }
    $names = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('check') -ArgumentList $arguments -FailureResultKey $key
    foreach ($name in @($names)) {
        if ($name -is [string]) {
            $name
        }
    }
}
