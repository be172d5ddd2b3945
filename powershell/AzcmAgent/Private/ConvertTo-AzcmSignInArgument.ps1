function ConvertTo-AzcmSignInArgument {
    # The sign-in parameters, the same on Connect-AzcmAgent, Disconnect-AzcmAgent and
    # Get-AzcmAgent -Arm, as azcm's flags: declared once here. Returns the flags and the
    # SecureString that goes to azcm on stdin (a secret never becomes a flag's value).
    [CmdletBinding()]
    param(
        [Parameter(Mandatory = $true)]
        [System.Collections.IDictionary]$BoundParameters
    )

    $bound = $BoundParameters
    $flags = New-Object -TypeName 'System.Collections.Generic.List[string]'
    $secret = $null
    if ($bound.ContainsKey('ServicePrincipalCredential')) {
        $flags.AddRange([string[]]@('--service-principal-id', $bound['ServicePrincipalCredential'].UserName, '--service-principal-secret', '-'))
        $secret = $bound['ServicePrincipalCredential'].Password
    } elseif ($bound.ContainsKey('ServicePrincipalCertificatePath')) {
        $certificate = (Resolve-Path -LiteralPath $bound['ServicePrincipalCertificatePath'] -ErrorAction Stop).ProviderPath
        $flags.AddRange([string[]]@('--service-principal-id', $bound['ServicePrincipalId'], '--service-principal-cert', $certificate))
    } elseif ($bound.ContainsKey('ServicePrincipalCertificateThumbprint')) {
        $flags.AddRange([string[]]@('--service-principal-id', $bound['ServicePrincipalId'], '--service-principal-cert-thumbprint', $bound['ServicePrincipalCertificateThumbprint']))
    } elseif ($bound.ContainsKey('UseDeviceCode') -and $bound['UseDeviceCode']) {
        $flags.Add('--use-device-code')
    } elseif ($bound.ContainsKey('UseAzureCli') -and $bound['UseAzureCli']) {
        $flags.Add('--use-azcli')
    } elseif ($bound.ContainsKey('AccessToken')) {
        $flags.AddRange([string[]]@('--access-token', '-'))
        $secret = $bound['AccessToken']
    }
    $valued = [ordered]@{ TenantId = '--tenant-id'; UserTenantId = '--user-tenant-id'; RetryTimeout = '--retry-timeout' }
    foreach ($name in $valued.Keys) {
        if ($bound.ContainsKey($name) -and -not [string]::IsNullOrEmpty([string]$bound[$name])) {
            $flags.AddRange([string[]]@($valued[$name], [string]$bound[$name]))
        }
    }
    [pscustomobject]@{
        Arguments = $flags.ToArray()
        Secret    = $secret
    }
}
