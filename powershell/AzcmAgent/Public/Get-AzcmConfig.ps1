function Get-AzcmConfig {
    <#
    .SYNOPSIS
    Gets the Azure Connected Machine agent's local configuration settings.

    .DESCRIPTION
    Without -Name, lists every property with its current value and where the value comes from
    (default, local, or monitor mode). With -Name, gets those properties only.
    Runs 'azcm config list' or 'azcm config get'. With -Session, reads the settings of many
    machines over PowerShell remoting (the AzcmAgent module must be installed on them).

    .PARAMETER Name
    The properties to get (tab completion lists them); all when omitted. From the pipeline by value
    or by the Name property.

    .PARAMETER Session
    Runs the cmdlet on the machines of these PowerShell sessions (the AzcmAgent module must be
    installed there) and returns their results, each with PSComputerName and MachineName.

    .PARAMETER ThrottleLimit
    How many machines work at once with -Session, -ComputerName or -HostName (default 32).

    .EXAMPLE
    Get-AzcmConfig

    Lists every local configuration property with its value and where the value comes from.

    .EXAMPLE
    Get-AzcmConfig -Name proxy.url, proxy.bypass

    Gets the proxy settings.

    .EXAMPLE
    Get-AzcmConfig -Name extensions.allowlist -Session (New-PSSession -ComputerName srv1, srv2)

    Gets the extension allowlist of two servers.

    .INPUTS
    System.String, or objects with a Name property: the properties to get.

    .OUTPUTS
    AzcmAgent.ConfigSetting: Name, Value and Source (local, default, monitorMode).

    .LINK
    about_AzcmAgent

    .LINK
    Set-AzcmConfig

    .LINK
    Clear-AzcmConfig

    .LINK
    Get-AzcmConfigInfo
    #>
    [CmdletBinding(DefaultParameterSetName = 'Local')]
    [OutputType('AzcmAgent.ConfigSetting')]
    param(
        [Parameter(Mandatory = $false, Position = 0, ValueFromPipeline = $true, ValueFromPipelineByPropertyName = $true)]
        [ValidateSet('incomingconnections.enabled', 'incomingconnections.ports', 'connection.type', 'proxy.url', 'proxy.bypass', 'extensions.allowlist', 'extensions.blocklist', 'guestconfiguration.enabled', 'extensions.enabled', 'config.mode', 'guestconfiguration.agent.cpulimit', 'extensions.agent.cpulimit')]
        [string[]]$Name,

        # A variable that holds no session (none opened) must not turn a fleet run into a local one.
        [Parameter(Mandatory = $true, ParameterSetName = 'Session')]
        [ValidateNotNullOrEmpty()]
        [System.Management.Automation.Runspaces.PSSession[]]$Session,

        [Parameter(Mandatory = $false, ParameterSetName = 'Session')]
        [ValidateRange(1, 1024)]
        [int]$ThrottleLimit = 32
    )

    process {
        if ($PSCmdlet.ParameterSetName -eq 'Session') {
            Invoke-AzcmFanOut -Cmdlet $PSCmdlet -ThrottleLimit $ThrottleLimit
            return
        }
        if (-not $Name) {
            $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('config', 'list')
            $result.localsettings | ConvertTo-AzcmConfigSetting
            return
        }
        foreach ($property in $Name) {
            $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('config', 'get') -ArgumentList @('--', $property) -TargetObject $property
            ConvertTo-AzcmConfigSetting -Setting $result
        }
    }
}
