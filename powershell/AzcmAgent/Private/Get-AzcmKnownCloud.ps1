function Get-AzcmKnownCloud {
    # The clouds azcm knows, for tab completion: the built-in ones and those of AZCM_CLOUD_FILE.
    # azcm reports them (details.knownClouds of AZCM0023) for a cloud it does not know, before
    # any network I/O; a blank name is never a cloud.
    [CmdletBinding()]
    [OutputType([string])]
    param()

    $clouds = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('check') -ArgumentList @('--cloud', ' ', '--location', 'not-a-region') -FailureResultKey 'knownClouds'
    foreach ($cloud in @($clouds)) {
        if ($cloud -is [string]) {
            $cloud
        }
    }
}
