function Get-AzcmConfigInfo {
    <#
    .SYNOPSIS
    Describes the agent's configuration properties: type, allowed values, default, description, example.

    .DESCRIPTION
    Runs 'azcm config info'. Without -Name describes every property.

    .PARAMETER Name
    The properties to describe (tab completion lists them); all when omitted.

    .EXAMPLE
    Get-AzcmConfigInfo -Name extensions.allowlist

    Describes the extensions.allowlist property: its type, default and an example.

    .INPUTS
    System.String, or objects with a Name property: the properties to describe.

    .OUTPUTS
    AzcmAgent.ConfigPropertyInfo: Name, Type, Default, AllowedValues, Description, Example.

    .LINK
    about_AzcmAgent

    .LINK
    Get-AzcmConfig

    .LINK
    Set-AzcmConfig
    #>
    [CmdletBinding()]
    [OutputType('AzcmAgent.ConfigPropertyInfo')]
    param(
        [Parameter(Mandatory = $false, Position = 0, ValueFromPipeline = $true, ValueFromPipelineByPropertyName = $true)]
        [ValidateSet('incomingconnections.enabled', 'incomingconnections.ports', 'connection.type', 'proxy.url', 'proxy.bypass', 'extensions.allowlist', 'extensions.blocklist', 'guestconfiguration.enabled', 'extensions.enabled', 'config.mode', 'guestconfiguration.agent.cpulimit', 'extensions.agent.cpulimit')]
        [string[]]$Name
    )

    process {
        $names = @($null)
        if ($Name) {
            $names = $Name
        }
        foreach ($property in $names) {
            $arguments = @()
            if ($property) {
                $arguments = @('--', $property)
            }
            $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('config', 'info') -ArgumentList $arguments -TargetObject $property
            foreach ($info in $result.properties) {
                [pscustomobject]@{
                    PSTypeName        = 'AzcmAgent.ConfigPropertyInfo'
                    Name              = [string]$info.name
                    Type              = [string]$info.type
                    AllowedValues     = $info.allowedValues
                    Default           = $info.default
                    SupportsAddRemove = [bool]$info.supportsAddRemove
                    Preview           = [bool]$info.preview
                    Description       = [string]$info.description
                    Example           = [string]$info.example
                }
            }
        }
    }
}
