function Disconnect-AzcmAgent {
    <#
    .SYNOPSIS
    Disconnects this machine (or many, with -Session) from Azure Arc.

    .DESCRIPTION
    Runs 'azcm disconnect': deletes the machine's Azure resource, waiting for Azure to finish,
    then resets the local agent configuration and key. -ForceLocalOnly resets this machine only
    and needs no credentials. Secrets go to azcm on its standard input. -WhatIf reports what would
    happen. High impact: PowerShell asks for confirmation unless -Confirm:$false.

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

    .PARAMETER ForceLocalOnly
    Resets the local agent state without deleting the resource in Azure (no sign-in): for a resource
    already deleted, or a machine that cannot reach Azure.

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
    Disconnect-AzcmAgent -ServicePrincipalCredential $credential -TenantId $tenantId

    Deletes the machine resource in Azure and resets the local agent state (asks for confirmation).

    .EXAMPLE
    Disconnect-AzcmAgent -ForceLocalOnly -Confirm:$false

    Resets the local agent state only, without asking: for a resource already deleted in Azure.

    .OUTPUTS
    AzcmAgent.Connection: Status (Disconnected, NotConnected, WhatIf, Failed, Unreachable) and the actions taken; with remoting one per machine.

    .LINK
    about_AzcmAgent

    .LINK
    Connect-AzcmAgent

    .LINK
    Get-AzcmAgent
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

        # A variable that holds no session (none opened) must not turn a fleet run into a local one.
        [Parameter(Mandatory = $false)]
        [ValidateNotNullOrEmpty()]
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
                Invoke-AzcmFanOut -Cmdlet $PSCmdlet -ThrottleLimit $ThrottleLimit -FailureTypeName 'AzcmAgent.Connection'
            } else {
                Invoke-AzcmFanOut -Cmdlet $PSCmdlet -Action $action -ThrottleLimit $ThrottleLimit -FailureTypeName 'AzcmAgent.Connection'
            }
            return
        }
        if (-not $whatIf -and -not (Confirm-AzcmAction -Cmdlet $PSCmdlet -Target ([System.Environment]::MachineName) -Action $action)) {
            return
        }

        $arguments = @()
        $secret = $null
        if ($ForceLocalOnly) {
            $arguments += '--force-local-only'
        } else {
            $signIn = ConvertTo-AzcmSignInArgument -BoundParameters $PSBoundParameters
            $arguments += $signIn.Arguments
            $secret = $signIn.Secret
        }
        if ($whatIf) {
            $arguments += '--what-if'
        }
        # A machine that is not connected comes back as its state (details.state), not an
        # error: the mirror of Connect's AlreadyConnected. azcm itself keeps azcmagent's AZCM0063.
        if ($null -ne $secret) {
            $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('disconnect') -ArgumentList $arguments -StdinSecret $secret -FailureResultKey 'state'
        } else {
            $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('disconnect') -ArgumentList $arguments -FailureResultKey 'state'
        }
        if ($null -ne $result.PSObject.Properties['AzcmErrorRecord']) {
            if ($null -ne $result.PSObject.Properties['connected'] -and -not $result.connected) {
                ConvertTo-AzcmConnection -Result ([pscustomobject]@{ notConnected = $true }) -Operation 'Disconnect'
                return
            }
            $PSCmdlet.ThrowTerminatingError($result.AzcmErrorRecord)
        }
        ConvertTo-AzcmConnection -Result $result -Operation 'Disconnect'
    }
}
