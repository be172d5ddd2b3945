function Connect-AzcmAgent {
    <#
    .SYNOPSIS
    Connects this machine (or many, with -Session) to Azure Arc.

    .DESCRIPTION
    Runs 'azcm connect'. Authenticate with a service principal (-ServicePrincipalCredential:
    user name = application id, password = secret; or -ServicePrincipalId with
    -ServicePrincipalCertificatePath, a PEM with its key or an unencrypted PFX, or with
    -ServicePrincipalCertificateThumbprint, a certificate in Cert:\LocalMachine\My or
    Cert:\CurrentUser\My whose key may be non-exportable), an access token
    (-AccessToken), -UseDeviceCode (the sign-in prompt is shown as information), or -UseAzureCli
    (the account of the Azure CLI session on the machine). Secrets go
    to azcm on its standard input, never on its command line. -WhatIf runs every check and lookup
    and returns what would change, without changing anything. Re-running the same connect on a
    connected machine changes nothing. With -Session, runs on each machine over PowerShell
    remoting (the AzcmAgent module must be installed there) and returns one result per machine;
    a failure on one machine never stops the others.

    .EXAMPLE
    $credential = Get-Credential -UserName $appId -Message 'Service principal secret'
    Connect-AzcmAgent -ServicePrincipalCredential $credential -TenantId $tenantId -SubscriptionId Production -ResourceGroupName HybridServers -Location westeurope

    .EXAMPLE
    Connect-AzcmAgent -ServicePrincipalId $appId -ServicePrincipalCertificateThumbprint $thumbprint -TenantId $tenantId -SubscriptionId $sub -ResourceGroupName Servers -Location westeurope

    .EXAMPLE
    Connect-AzcmAgent -AccessToken (Get-AzAccessToken -AsSecureString).Token -SubscriptionId $sub -ResourceGroupName Servers -Location eastus -Tag @{ Owner = 'Ops Team' } -WhatIf

    .EXAMPLE
    $sessions = New-PSSession -ComputerName (Import-Csv servers.csv).Name
    Connect-AzcmAgent -Session $sessions -ThrottleLimit 50 -ServicePrincipalCredential $credential -TenantId $tenantId -SubscriptionId $sub -ResourceGroupName Servers -Location westeurope
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium', DefaultParameterSetName = 'ServicePrincipal')]
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

        [Parameter(Mandatory = $false, ParameterSetName = 'DeviceCode')]
        [Parameter(Mandatory = $false, ParameterSetName = 'AzureCli')]
        [ValidateNotNullOrEmpty()]
        [string]$UserTenantId,

        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [string]$SubscriptionId,

        [Parameter(Mandatory = $true)]
        [Alias('ResourceGroup')]
        [ValidateNotNullOrEmpty()]
        [string]$ResourceGroupName,

        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [string]$Location,

        [Parameter(Mandatory = $false)]
        [Alias('ResourceName')]
        [ValidateNotNullOrEmpty()]
        [string]$Name,

        [Parameter(Mandatory = $false)]
        [ArgumentCompleter({ 'AzureCloud', 'AzureUSGovernment', 'AzureChinaCloud' })]
        [ValidateNotNullOrEmpty()]
        [string]$Cloud,

        [Parameter(Mandatory = $false)]
        [Alias('Tags')]
        [hashtable]$Tag,

        [Parameter(Mandatory = $false)]
        [guid]$CorrelationId,

        [Parameter(Mandatory = $false)]
        [ValidateNotNullOrEmpty()]
        [string]$PrivateLinkScope,

        [Parameter(Mandatory = $false)]
        [ValidateNotNullOrEmpty()]
        [string]$GatewayId,

        [Parameter(Mandatory = $false)]
        [ValidateNotNullOrEmpty()]
        [string]$AutomanageProfile,

        [Parameter(Mandatory = $false)]
        [switch]$EnableAutomaticUpgrade,

        [Parameter(Mandatory = $false)]
        [switch]$IgnoreNetworkCheck,

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
        $target = 'Azure Arc: {0}/{1} in {2}' -f $SubscriptionId, $ResourceGroupName, $Location
        $whatIf = [bool]$WhatIfPreference
        if ($Session -or $ComputerName -or $HostName) {
            $action = 'Connect to Azure Arc ({0})' -f $target
            if ($whatIf) {
                Invoke-AzcmFanOut -Cmdlet $PSCmdlet -Session $Session -ComputerName $ComputerName -Credential $Credential -ThrottleLimit $ThrottleLimit -FailureTypeName 'AzcmAgent.Connection'
            } else {
                Invoke-AzcmFanOut -Cmdlet $PSCmdlet -Session $Session -ComputerName $ComputerName -Credential $Credential -Action $action -ThrottleLimit $ThrottleLimit -FailureTypeName 'AzcmAgent.Connection'
            }
            return
        }
        if (-not $whatIf -and -not $PSCmdlet.ShouldProcess($target, 'Connect this machine')) {
            return
        }

        $arguments = @('--subscription-id', $SubscriptionId, '--resource-group', $ResourceGroupName, '--location', $Location)
        if ($Name) {
            $arguments += @('--resource-name', $Name)
        }
        if ($Cloud) {
            $arguments += @('--cloud', $Cloud)
        }
        if ($TenantId) {
            $arguments += @('--tenant-id', $TenantId)
        }
        if ($UserTenantId) {
            $arguments += @('--user-tenant-id', $UserTenantId)
        }
        if ($Tag -and $Tag.Count -gt 0) {
            $arguments += @('--tags', (ConvertTo-AzcmTagArgument -Tag $Tag))
        }
        if ($PSBoundParameters.ContainsKey('CorrelationId')) {
            $arguments += @('--correlation-id', $CorrelationId.ToString())
        }
        if ($PrivateLinkScope) {
            $arguments += @('--private-link-scope', $PrivateLinkScope)
        }
        if ($GatewayId) {
            $arguments += @('--gateway-id', $GatewayId)
        }
        if ($AutomanageProfile) {
            $arguments += @('--automanage-profile', $AutomanageProfile)
        }
        if ($EnableAutomaticUpgrade) {
            $arguments += '--enable-automatic-upgrade'
        }
        if ($IgnoreNetworkCheck) {
            $arguments += '--ignore-network-check'
        }
        if ($PSBoundParameters.ContainsKey('RetryTimeout')) {
            $arguments += @('--retry-timeout', [string]$RetryTimeout)
        }
        if ($whatIf) {
            $arguments += '--what-if'
        }

        $secret = $null
        if ($PSCmdlet.ParameterSetName -eq 'ServicePrincipal') {
            $arguments += @('--service-principal-id', $ServicePrincipalCredential.UserName, '--service-principal-secret', '-')
            $secret = $ServicePrincipalCredential.Password
        } elseif ($PSCmdlet.ParameterSetName -eq 'ServicePrincipalCertificate') {
            $certificatePath = (Resolve-Path -LiteralPath $ServicePrincipalCertificatePath -ErrorAction Stop).ProviderPath
            $arguments += @('--service-principal-id', $ServicePrincipalId, '--service-principal-cert', $certificatePath)
        } elseif ($PSCmdlet.ParameterSetName -eq 'ServicePrincipalCertificateThumbprint') {
            $arguments += @('--service-principal-id', $ServicePrincipalId, '--service-principal-cert-thumbprint', $ServicePrincipalCertificateThumbprint)
        } elseif ($PSCmdlet.ParameterSetName -eq 'DeviceCode') {
            $arguments += '--use-device-code'
        } elseif ($PSCmdlet.ParameterSetName -eq 'AzureCli') {
            $arguments += '--use-azcli'
        } else {
            $arguments += @('--access-token', '-')
            $secret = $AccessToken
        }
        if ($null -ne $secret) {
            $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('connect') -ArgumentList $arguments -StdinSecret $secret -TargetObject $target
        } else {
            $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('connect') -ArgumentList $arguments -TargetObject $target
        }
        ConvertTo-AzcmConnection -Result $result -Operation 'Connect'
    }
}
