function Disconnect-AzcmAgent {
    <#
    .SYNOPSIS
    Disconnects this machine (or many, with -Session) from Azure Arc.

    .DESCRIPTION
    Runs 'azcm disconnect': deletes the machine's Azure resource, waiting for Azure to finish,
    then resets the local agent configuration and key. -ForceLocalOnly resets this machine only
    and needs no credentials. Secrets go to azcm on its standard input. -WhatIf reports what would
    happen. High impact: PowerShell asks for confirmation unless -Confirm:$false.

    .EXAMPLE
    Disconnect-AzcmAgent -ServicePrincipalCredential $credential -TenantId $tenantId

    .EXAMPLE
    Disconnect-AzcmAgent -ForceLocalOnly -Confirm:$false
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High', DefaultParameterSetName = 'ServicePrincipal')]
    [OutputType('AzcmAgent.Connection')]
    param(
        [Parameter(Mandatory = $true, ParameterSetName = 'ServicePrincipal')]
        [System.Management.Automation.PSCredential]$ServicePrincipalCredential,

        [Parameter(Mandatory = $true, ParameterSetName = 'ServicePrincipalCertificate')]
        [Parameter(Mandatory = $true, ParameterSetName = 'ServicePrincipalCertificateThumbprint')]
        [ValidateNotNullOrEmpty()]
        [string]$ServicePrincipalId,

        [Parameter(Mandatory = $true, ParameterSetName = 'ServicePrincipalCertificate')]
        [Alias('ServicePrincipalCert')]
        [ValidateNotNullOrEmpty()]
        [string]$ServicePrincipalCertificatePath,

        [Parameter(Mandatory = $true, ParameterSetName = 'ServicePrincipalCertificateThumbprint')]
        [Alias('ServicePrincipalCertThumbprint', 'CertificateThumbprint')]
        [ValidateNotNullOrEmpty()]
        [string]$ServicePrincipalCertificateThumbprint,

        [Parameter(Mandatory = $true, ParameterSetName = 'AccessToken')]
        [System.Security.SecureString]$AccessToken,

        [Parameter(Mandatory = $true, ParameterSetName = 'DeviceCode')]
        [switch]$UseDeviceCode,

        [Parameter(Mandatory = $true, ParameterSetName = 'AzureCli')]
        [Alias('UseAzcli')]
        [switch]$UseAzureCli,

        [Parameter(Mandatory = $true, ParameterSetName = 'ServicePrincipal')]
        [Parameter(Mandatory = $true, ParameterSetName = 'ServicePrincipalCertificate')]
        [Parameter(Mandatory = $true, ParameterSetName = 'ServicePrincipalCertificateThumbprint')]
        [Parameter(Mandatory = $false, ParameterSetName = 'AccessToken')]
        [Parameter(Mandatory = $false, ParameterSetName = 'DeviceCode')]
        [Parameter(Mandatory = $false, ParameterSetName = 'AzureCli')]
        [ValidateNotNullOrEmpty()]
        [string]$TenantId,

        [Parameter(Mandatory = $true, ParameterSetName = 'LocalOnly')]
        [switch]$ForceLocalOnly,

        [Parameter(Mandatory = $false)]
        [ValidateRange(1, 3600)]
        [int]$RetryTimeout,

        [Parameter(Mandatory = $false)]
        [System.Management.Automation.Runspaces.PSSession[]]$Session,

        [Parameter(Mandatory = $false)]
        [ValidateNotNullOrEmpty()]
        [string[]]$ComputerName,

        [Parameter(Mandatory = $false)]
        [ValidateNotNullOrEmpty()]
        [string[]]$HostName,

        [Parameter(Mandatory = $false)]
        [ValidateNotNullOrEmpty()]
        [string]$UserName,

        [Parameter(Mandatory = $false)]
        [ValidateNotNullOrEmpty()]
        [string]$KeyFilePath,

        [Parameter(Mandatory = $false)]
        [ValidateRange(1, 65535)]
        [int]$Port,

        [Parameter(Mandatory = $false)]
        [hashtable]$Options,

        [Parameter(Mandatory = $false)]
        [System.Management.Automation.PSCredential]$Credential,

        [Parameter(Mandatory = $false)]
        [ValidateRange(1, 1024)]
        [int]$ThrottleLimit = 32
    )

    process {
        $whatIf = [bool]$WhatIfPreference
        $action = 'Disconnect from Azure Arc and delete the machine resource'
        if ($ForceLocalOnly) {
            $action = 'Reset the local Azure Arc agent state (the Azure resource stays)'
        }
        if ($Session -or $ComputerName -or $HostName) {
            if ($whatIf) {
                Invoke-AzcmFanOut -Cmdlet $PSCmdlet -Session $Session -ComputerName $ComputerName -Credential $Credential -ThrottleLimit $ThrottleLimit -FailureTypeName 'AzcmAgent.Connection'
            } else {
                Invoke-AzcmFanOut -Cmdlet $PSCmdlet -Session $Session -ComputerName $ComputerName -Credential $Credential -Action $action -ThrottleLimit $ThrottleLimit -FailureTypeName 'AzcmAgent.Connection'
            }
            return
        }
        if (-not $whatIf -and -not $PSCmdlet.ShouldProcess([System.Environment]::MachineName, $action)) {
            return
        }

        $arguments = @()
        $secret = $null
        if ($ForceLocalOnly) {
            $arguments += '--force-local-only'
        } elseif ($PSCmdlet.ParameterSetName -eq 'ServicePrincipal') {
            $arguments += @('--service-principal-id', $ServicePrincipalCredential.UserName, '--service-principal-secret', '-', '--tenant-id', $TenantId)
            $secret = $ServicePrincipalCredential.Password
        } elseif ($PSCmdlet.ParameterSetName -eq 'ServicePrincipalCertificate') {
            $certificatePath = (Resolve-Path -LiteralPath $ServicePrincipalCertificatePath -ErrorAction Stop).ProviderPath
            $arguments += @('--service-principal-id', $ServicePrincipalId, '--service-principal-cert', $certificatePath, '--tenant-id', $TenantId)
        } elseif ($PSCmdlet.ParameterSetName -eq 'ServicePrincipalCertificateThumbprint') {
            $arguments += @('--service-principal-id', $ServicePrincipalId, '--service-principal-cert-thumbprint', $ServicePrincipalCertificateThumbprint, '--tenant-id', $TenantId)
        } elseif ($PSCmdlet.ParameterSetName -eq 'DeviceCode' -or $PSCmdlet.ParameterSetName -eq 'AzureCli') {
            if ($UseAzureCli) {
                $arguments += '--use-azcli'
            } else {
                $arguments += '--use-device-code'
            }
            if ($TenantId) {
                $arguments += @('--tenant-id', $TenantId)
            }
        } else {
            $arguments += @('--access-token', '-')
            if ($TenantId) {
                $arguments += @('--tenant-id', $TenantId)
            }
            $secret = $AccessToken
        }
        if ($PSBoundParameters.ContainsKey('RetryTimeout')) {
            $arguments += @('--retry-timeout', [string]$RetryTimeout)
        }
        if ($whatIf) {
            $arguments += '--what-if'
        }
        if ($null -ne $secret) {
            $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('disconnect') -ArgumentList $arguments -StdinSecret $secret
        } else {
            $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('disconnect') -ArgumentList $arguments
        }
        ConvertTo-AzcmConnection -Result $result -Operation 'Disconnect'
    }
}
