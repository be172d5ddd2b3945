function Clear-AzcmConfig {
    <#
    .SYNOPSIS
    Resets local configuration properties of the Azure Connected Machine agent to their defaults.

    .DESCRIPTION
    Runs 'azcm config clear' for each property. Accepts Get-AzcmConfig output from the pipeline.
    Supports -WhatIf and -Confirm. Returns the reset settings with -PassThru.

    .PARAMETER Name
    The properties to reset to their defaults (tab completion lists them); from the pipeline by
    value or by the Name property, for example from Get-AzcmConfig.

    .PARAMETER PassThru
    Returns each reset property as an AzcmAgent.ConfigSetting.

    .PARAMETER Session
    Runs the cmdlet on the machines of these PowerShell sessions (the AzcmAgent module must be
    installed there) and returns their results, each with PSComputerName and MachineName.

    .PARAMETER ThrottleLimit
    How many machines work at once with -Session, -ComputerName or -HostName (default 32).

    .EXAMPLE
    Clear-AzcmConfig -Name proxy.url

    Resets proxy.url to its default: the agent connects without a proxy.

    .EXAMPLE
    Get-AzcmConfig | Where-Object Source -eq 'local' | Clear-AzcmConfig -WhatIf

    Shows which locally set properties a reset would clear, changing nothing.

    .INPUTS
    System.String, or objects with a Name property (AzcmAgent.ConfigSetting): the properties to reset.

    .OUTPUTS
    AzcmAgent.ConfigSetting, with -PassThru: the property after the reset.

    .LINK
    about_AzcmAgent

    .LINK
    Get-AzcmConfig

    .LINK
    Set-AzcmConfig

    .LINK
    Get-AzcmConfigInfo
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
    [OutputType('AzcmAgent.ConfigSetting')]
    param(
        [Parameter(Mandatory = $true, Position = 0, ValueFromPipeline = $true, ValueFromPipelineByPropertyName = $true)]
        [ValidateSet('incomingconnections.enabled', 'incomingconnections.ports', 'connection.type', 'proxy.url', 'proxy.bypass', 'extensions.allowlist', 'extensions.blocklist', 'guestconfiguration.enabled', 'extensions.enabled', 'config.mode', 'guestconfiguration.agent.cpulimit', 'extensions.agent.cpulimit')]
        [string[]]$Name,

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
        foreach ($property in $Name) {
            $action = 'Reset {0} to its default' -f $property
            if ($Session) {
                Invoke-AzcmFanOut -Cmdlet $PSCmdlet -Action $action -Override @{ Name = @($property) } -ThrottleLimit $ThrottleLimit
                continue
            }
            if (-not (Confirm-AzcmAction -Cmdlet $PSCmdlet -Target 'Azure Connected Machine agent configuration' -Action $action)) {
                continue
            }
            $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('config', 'clear') -ArgumentList @('--', $property) -TargetObject $property
            if ($PassThru) {
                ConvertTo-AzcmConfigSetting -Setting $result
            }
        }
    }
}
