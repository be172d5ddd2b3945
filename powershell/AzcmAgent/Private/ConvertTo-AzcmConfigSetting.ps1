function ConvertTo-AzcmConfigSetting {
    # Shapes a setting of azcm's config results as an AzcmAgent.ConfigSetting object.
    [CmdletBinding()]
    [OutputType('AzcmAgent.ConfigSetting')]
    param(
        [Parameter(Mandatory = $true, ValueFromPipeline = $true)]
        [object]$Setting
    )

    process {
        $object = [pscustomobject]@{
            PSTypeName = 'AzcmAgent.ConfigSetting'
            Name       = [string]$Setting.key
            Value      = $Setting.value
            Source     = [string]$Setting.source
            IsDefault  = [bool]$Setting.isDefault
            Preview    = [bool]$Setting.preview
        }
        if ($null -ne $Setting.PSObject.Properties['changed']) {
            Add-Member -InputObject $object -MemberType NoteProperty -Name 'PreviousValue' -Value $Setting.previousValue
            Add-Member -InputObject $object -MemberType NoteProperty -Name 'Changed' -Value ([bool]$Setting.changed)
        }
        $object
    }
}
