function Clear-AzcmConfig {
    <#
    .SYNOPSIS
    Resets local configuration properties of the Azure Connected Machine agent to their defaults.

    .DESCRIPTION
    Runs 'azcm config clear' for each property. Accepts Get-AzcmConfig output from the pipeline.
    Supports -WhatIf and -Confirm. Returns the reset settings with -PassThru.

    .EXAMPLE
    Clear-AzcmConfig -Name proxy.url

    .EXAMPLE
    Get-AzcmConfig | Where-Object Source -eq 'local' | Clear-AzcmConfig -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
    [OutputType('AzcmAgent.ConfigSetting')]
    param(
        [Parameter(Mandatory = $true, Position = 0, ValueFromPipeline = $true, ValueFromPipelineByPropertyName = $true)]
        [ValidateSet('incomingconnections.enabled', 'incomingconnections.ports', 'connection.type', 'proxy.url', 'proxy.bypass', 'extensions.allowlist', 'extensions.blocklist', 'guestconfiguration.enabled', 'extensions.enabled', 'config.mode', 'guestconfiguration.agent.cpulimit', 'extensions.agent.cpulimit')]
        [string[]]$Name,

        [Parameter(Mandatory = $false)]
        [switch]$PassThru,

        [Parameter(Mandatory = $false)]
        [System.Management.Automation.Runspaces.PSSession[]]$Session,

        [Parameter(Mandatory = $false)]
        [ValidateRange(1, 1024)]
        [int]$ThrottleLimit = 32
    )

    process {
        foreach ($property in $Name) {
            $action = 'Reset {0} to its default' -f $property
            if ($Session) {
                Invoke-AzcmFanOut -Cmdlet $PSCmdlet -Session $Session -Action $action -Override @{ Name = @($property) } -ThrottleLimit $ThrottleLimit
                continue
            }
            if (-not $PSCmdlet.ShouldProcess('Azure Connected Machine agent configuration', $action)) {
                continue
            }
            $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('config', 'clear') -ArgumentList @('--', $property) -TargetObject $property
            if ($PassThru) {
                ConvertTo-AzcmConfigSetting -Setting $result
            }
        }
    }
}
