function Get-AzcmAgent {
    <#
    .SYNOPSIS
    Gets this machine's (or many machines', with -Session) Azure Arc state, as 'azcmagent show'.

    .DESCRIPTION
    Runs 'azcm show'. Returns an AzcmAgent.Agent object with every property azcmagent shows
    (resource, agent status and heartbeat, proxy and gateway, services, hardware, portal page).
    With -Property, returns one AzcmAgent.AgentProperty (Name, Value) per property asked for
    (display names such as 'Agent Status' or JSON keys such as lastHeartbeat). -Os adds the OS
    details. -Arm also reads the machine resource from Azure Resource Manager (sign in with
    -ServicePrincipalCredential and -TenantId, or -AccessToken) and lists where Azure and this
    machine disagree in the Arm property.

    .PARAMETER Property
    Only these properties, by display name or JSON key ('Agent Status', lastHeartbeat); each is
    returned as an AzcmAgent.AgentProperty. Tab completion lists them.

    .PARAMETER Os
    Adds the OS properties: type, version, SKU, FQDN and domain.

    .PARAMETER Arm
    Also reads the machine resource from Azure Resource Manager (sign-in needed) and says where it
    disagrees with this machine (the Arm property).

    .PARAMETER ServicePrincipalCredential
    The service principal to sign in with: its application (client) id as the user name and its
    secret as the password. The secret reaches azcm on stdin only, never on a command line.

    .PARAMETER AccessToken
    An ARM access token (SecureString) to use instead of signing in, for example (Get-AzAccessToken
    -AsSecureString).Token. It reaches azcm on stdin only.

    .PARAMETER TenantId
    The Entra ID tenant (a GUID) of the service principal or of the subscription.

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
    Get-AzcmAgent

    Shows this machine's Azure Arc state, as azcmagent show does.

    .EXAMPLE
    Get-AzcmAgent -Property 'Agent Status', lastHeartbeat

    Returns just the agent status and the last heartbeat.

    .EXAMPLE
    Get-AzcmAgent -Arm -ServicePrincipalCredential $credential -TenantId $tenantId | Select-Object -ExpandProperty Arm

    Compares this machine with its resource in Azure Resource Manager.

    .EXAMPLE
    Get-AzcmAgent -ComputerName (Get-Content servers.txt) | Where-Object Status -NE 'Connected'

    Lists the servers of a text file whose agent is not connected.

    .OUTPUTS
    AzcmAgent.Agent: every property of azcmagent show; AzcmAgent.AgentProperty (Name, Value) for each -Property.

    .LINK
    about_AzcmAgent

    .LINK
    Connect-AzcmAgent

    .LINK
    Test-AzcmConnectivity

    .LINK
    Export-AzcmLog
    #>
    [CmdletBinding(DefaultParameterSetName = 'Local')]
    [OutputType('AzcmAgent.Agent', 'AzcmAgent.AgentProperty')]
    param(
        [Parameter(Mandatory = $false, Position = 0)]
        [Alias('Properties')]
        [ValidateNotNullOrEmpty()]
        [string[]]$Property,

        [Parameter(Mandatory = $false)]
        [switch]$Os,

        [Parameter(Mandatory = $true, ParameterSetName = 'ArmServicePrincipal')]
        [Parameter(Mandatory = $true, ParameterSetName = 'ArmAccessToken')]
        [switch]$Arm,

        [Parameter(Mandatory = $true, ParameterSetName = 'ArmServicePrincipal')]
        [System.Management.Automation.PSCredential]$ServicePrincipalCredential,

        [Parameter(Mandatory = $true, ParameterSetName = 'ArmAccessToken')]
        [System.Security.SecureString]$AccessToken,

        [Parameter(Mandatory = $true, ParameterSetName = 'ArmServicePrincipal')]
        [Parameter(Mandatory = $false, ParameterSetName = 'ArmAccessToken')]
        [ValidateNotNullOrEmpty()]
        [string]$TenantId,

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
        if ($Session -or $ComputerName -or $HostName) {
            Invoke-AzcmFanOut -Cmdlet $PSCmdlet -ThrottleLimit $ThrottleLimit
            return
        }
        $arguments = New-Object -TypeName 'System.Collections.Generic.List[string]'
        if ($Os) {
            $arguments.Add('--os')
        }
        $secret = $null
        if ($Arm) {
            $arguments.Add('--arm')
            $signIn = ConvertTo-AzcmSignInArgument -BoundParameters $PSBoundParameters
            $arguments.AddRange([string[]]$signIn.Arguments)
            $secret = $signIn.Secret
        }
        if ($Property) {
            # The property names last, after `--`: values, never flags.
            $arguments.Add('--')
            foreach ($name in $Property) {
                $arguments.Add($name)
            }
        }
        if ($null -ne $secret) {
            $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('show') -ArgumentList $arguments.ToArray() -StdinSecret $secret
        } else {
            $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('show') -ArgumentList $arguments.ToArray()
        }

        if ($Property) {
            foreach ($entry in $result.PSObject.Properties) {
                if ($entry.Name -eq 'arm') {
                    continue
                }
                [pscustomobject]@{
                    PSTypeName = 'AzcmAgent.AgentProperty'
                    Name       = $entry.Name
                    Value      = $entry.Value
                }
            }
            return
        }
        $agent = [ordered]@{ PSTypeName = 'AzcmAgent.Agent' }
        foreach ($entry in $result.PSObject.Properties) {
            # JSON keys become PowerShell-style names: resourceId -> ResourceId.
            $name = $entry.Name.Substring(0, 1).ToUpperInvariant() + $entry.Name.Substring(1)
            $agent[$name] = $entry.Value
        }
        if ($null -ne $agent['DependentServices']) {
            $agent['DependentServices'] = Add-AzcmDisplayText -InputObject $agent['DependentServices'] -Text {
                @($this.PSObject.Properties | Where-Object MemberType -EQ 'NoteProperty' | ForEach-Object { '{0}: {1}' -f $_.Name, $_.Value }) -join ', '
            }
        }
        if ($null -ne $agent['AzureVm'] -and $null -ne $agent['AzureVm'].PSObject.Properties['detected']) {
            $agent['AzureVm'] = Add-AzcmDisplayText -InputObject $agent['AzureVm'] -Text {
                if ($this.detected) {
                    'yes ({0})' -f (@($this.evidence) -join '; ')
                } else {
                    'no'
                }
            }
        }
        $object = [pscustomobject]$agent
        if ($object.PSObject.TypeNames[0] -ne 'AzcmAgent.Agent') {
            $object.PSObject.TypeNames.Insert(0, 'AzcmAgent.Agent')
        }
        $object
    }
}
