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

    .PARAMETER ServicePrincipalCredential
    The service principal to sign in with: its application (client) id as the user name and its
    secret as the password. The secret reaches azcm on stdin only, never on a command line.

    .PARAMETER ServicePrincipalId
    The application (client) id of the service principal that signs in with a certificate.

    .PARAMETER ServicePrincipalCertificatePath
    A PEM or PFX file with the service principal's certificate and its private key.

    .PARAMETER ServicePrincipalCertificateThumbprint
    The thumbprint of the service principal's certificate in the Windows certificate store
    (LocalMachine\My, then CurrentUser\My); its key may be non-exportable.

    .PARAMETER AccessToken
    An ARM access token (SecureString) to use instead of signing in, for example (Get-AzAccessToken
    -AsSecureString).Token. It reaches azcm on stdin only.

    .PARAMETER UseDeviceCode
    Signs in as a person with a device code: the code and the URL to enter it at are shown as
    information.

    .PARAMETER UseAzureCli
    Signs in with the Azure CLI's current session (az login) on this machine.

    .PARAMETER TenantId
    The Entra ID tenant (a GUID) of the service principal or of the subscription.

    .PARAMETER UserTenantId
    The tenant a person signs in to with -UseDeviceCode or -UseAzureCli, when it is not the
    subscription's.

    .PARAMETER SubscriptionId
    The subscription for the machine resource: its id, or its exact display name.

    .PARAMETER ResourceGroupName
    The resource group for the machine resource; created in -Location when it does not exist.

    .PARAMETER Location
    The Azure region of the machine resource, for example westeurope (tab completion lists the
    cloud's regions).

    .PARAMETER Name
    The name of the machine resource (default: the host name without its domain). Letters, digits,
    hyphens, underscores and periods, up to 54 characters.

    .PARAMETER Cloud
    The Azure cloud (default: $env:AZCM_CLOUD, else AzureCloud): AzureCloud, AzureUSGovernment, AzureChinaCloud, or a custom cloud
    defined in the file AZCM_CLOUD_FILE names. Tab completion lists them.

    .PARAMETER Tag
    Tags for the machine resource, as a hashtable: @{ Owner = 'Ops Team'; CostCenter = '1234' }.

    .PARAMETER CorrelationId
    A GUID recorded with the onboarding and sent with every ARM call, to find them in the activity
    log.

    .PARAMETER PrivateLinkScope
    The resource id of the Azure Arc private link scope the machine connects through.

    .PARAMETER GatewayId
    The resource id of the Azure Arc gateway to route the agent's traffic through.

    .PARAMETER AutomanageProfile
    The resource id of an Azure Automanage configuration profile to assign (a best-practices profile
    or your own).

    .PARAMETER EnableAutomaticUpgrade
    Lets the agent upgrade itself automatically (preview).

    .PARAMETER IgnoreNetworkCheck
    Connects even when the network check of the required endpoints fails (it is then a warning).

    .PARAMETER RetryTimeout
    How long, in seconds, ARM calls and their retries (throttling, outages) may take in all (default
    120).

    .PARAMETER Session
    Runs the cmdlet on the machines of these PowerShell sessions (the AzcmAgent module must be
    installed there) and returns their results, each with PSComputerName and MachineName.

    .PARAMETER ComputerName
    Runs the cmdlet on these machines over WinRM remoting: sessions are opened, used and closed; a
    machine that cannot be reached gets a row (or an error) of its own.

    .PARAMETER HostName
    Runs the cmdlet on these machines over SSH remoting (PowerShell 7; SSH key or agent
    authentication, the powershell subsystem on each machine). Windows PowerShell 5.1 has no SSH
    remoting: use -ComputerName or -Session.

    .PARAMETER UserName
    The user to sign in to the -HostName machines as, over SSH.

    .PARAMETER KeyFilePath
    The private key file to authenticate to the -HostName machines with, over SSH.

    .PARAMETER Port
    The SSH port of the -HostName machines (default 22).

    .PARAMETER Options
    SSH options for the -HostName sessions, as New-PSSession -Options takes them: a hashtable of ssh
    -o settings, for example @{ StrictHostKeyChecking = 'yes'; UserKnownHostsFile =
    '~/.ssh/fleet_known_hosts' }.

    .PARAMETER Credential
    The account to open the -ComputerName (WinRM) sessions with.

    .PARAMETER ThrottleLimit
    How many machines work at once with -Session, -ComputerName or -HostName (default 32).

    .EXAMPLE
    $credential = Get-Credential -UserName $appId -Message 'Service principal secret'
    Connect-AzcmAgent -ServicePrincipalCredential $credential -TenantId $tenantId -SubscriptionId Production -ResourceGroupName HybridServers -Location westeurope

    Connects this machine with a service principal secret asked for interactively; the subscription is given by its display name.

    .EXAMPLE
    Connect-AzcmAgent -ServicePrincipalId $appId -ServicePrincipalCertificateThumbprint $thumbprint -TenantId $tenantId -SubscriptionId $sub -ResourceGroupName Servers -Location westeurope

    Connects with a service principal whose certificate is in the Windows certificate store.

    .EXAMPLE
    Connect-AzcmAgent -AccessToken (Get-AzAccessToken -AsSecureString).Token -SubscriptionId $sub -ResourceGroupName Servers -Location eastus -Tag @{ Owner = 'Ops Team' } -WhatIf

    Shows what connecting with an access token would change (resource group, machine resource, tags), changing nothing.

    .EXAMPLE
    $sessions = New-PSSession -ComputerName (Import-Csv servers.csv).Name
    Connect-AzcmAgent -Session $sessions -ThrottleLimit 50 -ServicePrincipalCredential $credential -TenantId $tenantId -SubscriptionId $sub -ResourceGroupName Servers -Location westeurope

    Connects every server of a CSV file over WinRM remoting, 50 at a time, one result row per server.

    .OUTPUTS
    AzcmAgent.Connection: Status (Connected, AlreadyConnected, WhatIf, Failed, Unreachable), the resource, the actions taken; with remoting one per machine, with PSComputerName and MachineName.

    .LINK
    about_AzcmAgent

    .LINK
    Disconnect-AzcmAgent

    .LINK
    Get-AzcmAgent

    .LINK
    Test-AzcmConnectivity
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

        [Parameter(Mandatory = $true, ValueFromPipelineByPropertyName = $true)]
        [ValidateNotNullOrEmpty()]
        [string]$SubscriptionId,

        [Parameter(Mandatory = $true, ValueFromPipelineByPropertyName = $true)]
        [Alias('ResourceGroup')]
        [ValidateNotNullOrEmpty()]
        [string]$ResourceGroupName,

        [Parameter(Mandatory = $true, ValueFromPipelineByPropertyName = $true)]
        [ValidateNotNullOrEmpty()]
        [string]$Location,

        # Empty (a fan-out row or CSV cell where no name was asked) means the default name.
        [Parameter(Mandatory = $false, ValueFromPipelineByPropertyName = $true)]
        [Alias('ResourceName')]
        [AllowEmptyString()]
        [AllowNull()]
        [string]$Name,

        [Parameter(Mandatory = $false)]
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

        # A variable that holds no session (none opened) must not turn a fleet run into a local one.
        [Parameter(Mandatory = $false)]
        [ValidateNotNullOrEmpty()]
        [System.Management.Automation.Runspaces.PSSession[]]$Session,

        # Empty cells (a row reached over the other transport) are ignored.
        [Parameter(Mandatory = $false, ValueFromPipelineByPropertyName = $true)]
        [AllowEmptyString()]
        [AllowEmptyCollection()]
        [AllowNull()]
        [string[]]$ComputerName,

        [Parameter(Mandatory = $false, ValueFromPipelineByPropertyName = $true)]
        [AllowEmptyString()]
        [AllowEmptyCollection()]
        [AllowNull()]
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

    begin {
        # Machines named by pipeline records are gathered and connected in one throttled
        # fan-out at the end, each with what its record asked.
        $fanOut = New-Object -TypeName 'System.Collections.Generic.List[hashtable]'
        $typed = @($PSBoundParameters.Keys)
    }

    process {
        $target = 'Azure Arc: {0}/{1} in {2}' -f $SubscriptionId, $ResourceGroupName, $Location
        $whatIf = [bool]$WhatIfPreference
        $machines = @{}
        foreach ($key in $PSBoundParameters.Keys) {
            $machines[$key] = $PSBoundParameters[$key]
        }
        $machines['ComputerName'] = @($ComputerName | Where-Object { -not [string]::IsNullOrWhiteSpace($_) })
        $machines['HostName'] = @($HostName | Where-Object { -not [string]::IsNullOrWhiteSpace($_) })
        if ($PSCmdlet.MyInvocation.ExpectingInput -and $typed -notcontains 'ComputerName' -and $machines['ComputerName'].Count -gt 0) {
            # A row of a connect run here (no PSComputerName) names this machine by its own
            # name, not a machine to reach over WinRM.
            $row = $_
            $reachedAt = $null
            if ($null -ne $row -and $null -ne $row.PSObject.Properties['PSComputerName']) {
                $reachedAt = [string]$row.PSComputerName
            }
            if ([string]::IsNullOrEmpty($reachedAt) -and @($row.PSObject.TypeNames -like '*AzcmAgent.Connection').Count -gt 0) {
                $machines['ComputerName'] = @()
            }
        }
        if ($Session -or $machines['ComputerName'].Count -gt 0 -or $machines['HostName'].Count -gt 0) {
            $fanOut.Add($machines)
            return
        }
        if (-not $whatIf -and -not (Confirm-AzcmAction -Cmdlet $PSCmdlet -Target $target -Action 'Connect this machine')) {
            return
        }

        $arguments = @('--subscription-id', $SubscriptionId, '--resource-group', $ResourceGroupName, '--location', $Location)
        if ($Name) {
            $arguments += @('--resource-name', $Name)
        }
        if ($Cloud) {
            $arguments += @('--cloud', $Cloud)
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
        if ($whatIf) {
            $arguments += '--what-if'
        }

        $signIn = ConvertTo-AzcmSignInArgument -BoundParameters $PSBoundParameters
        $arguments += $signIn.Arguments
        $secret = $signIn.Secret
        if ($null -ne $secret) {
            $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('connect') -ArgumentList $arguments -StdinSecret $secret -TargetObject $target
        } else {
            $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('connect') -ArgumentList $arguments -TargetObject $target
        }
        if ($whatIf) {
            # One "What if:" line per planned change, as azcm planned it (the same sentences the
            # returned object's Actions show).
            foreach ($planned in @($result.actions)) {
                $null = Confirm-AzcmAction -Cmdlet $PSCmdlet -Target ([System.Environment]::MachineName) -Action ([string]$planned.description)
            }
        }
        ConvertTo-AzcmConnection -Result $result -Operation 'Connect'
    }

    end {
        if ($fanOut.Count -eq 0) {
            return
        }
        if ([bool]$WhatIfPreference) {
            Invoke-AzcmFanOut -Cmdlet $PSCmdlet -Request $fanOut.ToArray() -ThrottleLimit $ThrottleLimit -FailureTypeName 'AzcmAgent.Connection'
        } else {
            $actionFor = {
                param($Asked)
                'Connect to Azure Arc (Azure Arc: {0}/{1} in {2})' -f $Asked['SubscriptionId'], $Asked['ResourceGroupName'], $Asked['Location']
            }
            Invoke-AzcmFanOut -Cmdlet $PSCmdlet -Request $fanOut.ToArray() -ActionFor $actionFor -ThrottleLimit $ThrottleLimit -FailureTypeName 'AzcmAgent.Connection'
        }
    }
}
