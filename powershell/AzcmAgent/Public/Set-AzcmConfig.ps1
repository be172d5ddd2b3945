function Set-AzcmConfig {
    <#
    .SYNOPSIS
    Sets a local configuration property of the Azure Connected Machine agent.

    .DESCRIPTION
    Replaces a property's value, or with -Add / -Remove edits a list property
    (incomingconnections.ports, proxy.bypass, extensions.allowlist, extensions.blocklist).
    Several -Value entries are joined into azcm's comma-separated list. Runs 'azcm config set'.
    Supports -WhatIf and -Confirm. Returns the new setting with -PassThru.

    .PARAMETER Name
    The property to set (tab completion lists them); from the pipeline by the Name property.

    .PARAMETER Value
    The value; several values set a list property (proxy.bypass, extensions.allowlist). Also by the
    Value property from the pipeline.

    .PARAMETER Add
    Adds the values to the list property instead of replacing it.

    .PARAMETER Remove
    Removes the values from the list property.

    .PARAMETER PassThru
    Returns the property as it is now, as an AzcmAgent.ConfigSetting.

    .PARAMETER Session
    Runs the cmdlet on the machines of these PowerShell sessions (the AzcmAgent module must be
    installed there) and returns their results, each with PSComputerName and MachineName.

    .PARAMETER ThrottleLimit
    How many machines work at once with -Session, -ComputerName or -HostName (default 32).

    .EXAMPLE
    Set-AzcmConfig -Name proxy.url -Value 'http://proxy.contoso.corp:8080'

    Sends the agent's traffic through a proxy.

    .EXAMPLE
    Set-AzcmConfig -Name extensions.allowlist -Value 'Microsoft.Azure.Monitor/AzureMonitorWindowsAgent' -Add -PassThru

    Adds an extension to the allowlist and returns the list as it is now.

    .EXAMPLE
    Set-AzcmConfig -Name incomingconnections.enabled -Value $false -Session $sessions

    Turns off incoming connections on every machine of $sessions.

    .INPUTS
    Objects with Name and Value properties (for example AzcmAgent.ConfigSetting): the properties to set.

    .OUTPUTS
    AzcmAgent.ConfigSetting, with -PassThru: the property as it is now.

    .LINK
    about_AzcmAgent

    .LINK
    Get-AzcmConfig

    .LINK
    Clear-AzcmConfig

    .LINK
    Get-AzcmConfigInfo
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium', DefaultParameterSetName = 'Replace')]
    [OutputType('AzcmAgent.ConfigSetting')]
    param(
        [Parameter(Mandatory = $true, Position = 0, ValueFromPipelineByPropertyName = $true)]
        [ValidateSet('incomingconnections.enabled', 'incomingconnections.ports', 'connection.type', 'proxy.url', 'proxy.bypass', 'extensions.allowlist', 'extensions.blocklist', 'guestconfiguration.enabled', 'extensions.enabled', 'config.mode', 'guestconfiguration.agent.cpulimit', 'extensions.agent.cpulimit')]
        [string]$Name,

        [Parameter(Mandatory = $true, Position = 1, ValueFromPipelineByPropertyName = $true)]
        [ValidateNotNullOrEmpty()]
        [string[]]$Value,

        [Parameter(Mandatory = $true, ParameterSetName = 'Add')]
        [switch]$Add,

        [Parameter(Mandatory = $true, ParameterSetName = 'Remove')]
        [switch]$Remove,

        [Parameter(Mandatory = $false)]
        [switch]$PassThru,

        # A variable that holds no session (none opened) must not turn a fleet run into a local one.
        [Parameter(Mandatory = $false)]
        [ValidateNotNullOrEmpty()]
        [System.Management.Automation.Runspaces.PSSession[]]$Session,

        [Parameter(Mandatory = $false)]
        [ValidateRange(1, 1024)]
        [int]$ThrottleLimit = 32
    )

    process {
        $joined = ($Value | ForEach-Object { [string]$_ }) -join ','
        $action = 'Set {0} to {1}' -f $Name, $joined
        if ($Add) {
            $action = 'Add {1} to {0}' -f $Name, $joined
        }
        if ($Remove) {
            $action = 'Remove {1} from {0}' -f $Name, $joined
        }

        if ($Session) {
            Invoke-AzcmFanOut -Cmdlet $PSCmdlet -Action $action -ThrottleLimit $ThrottleLimit
            return
        }

        if (-not (Confirm-AzcmAction -Cmdlet $PSCmdlet -Target 'Azure Connected Machine agent configuration' -Action $action)) {
            return
        }
        $arguments = @()
        if ($Add) {
            $arguments += '--add'
        }
        if ($Remove) {
            $arguments += '--remove'
        }
        # After `--` the value is a value even when it starts with a dash.
        $arguments += @('--', $Name, $joined)
        $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('config', 'set') -ArgumentList $arguments -TargetObject $Name
        if ($PassThru) {
            ConvertTo-AzcmConfigSetting -Setting $result
        }
    }
}
