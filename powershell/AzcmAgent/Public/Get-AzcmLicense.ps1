function Get-AzcmLicense {
    <#
    .SYNOPSIS
    Gets the licence text azcm is distributed under.

    .EXAMPLE
    Get-AzcmLicense | Out-Host -Paging
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param()

    $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('license')
    [string]$result.text
}
