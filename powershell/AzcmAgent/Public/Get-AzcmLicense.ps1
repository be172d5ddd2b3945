function Get-AzcmLicense {
    <#
    .SYNOPSIS
    Gets the licence text azcm is distributed under.

    .DESCRIPTION
    Runs 'azcm license': the licence text azcm is distributed under (MIT), as one string.

    .EXAMPLE
    Get-AzcmLicense | Out-Host -Paging

    Shows the licence text one page at a time.

    .OUTPUTS
    System.String: the licence text.

    .LINK
    about_AzcmAgent

    .LINK
    Get-AzcmVersion
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param()

    $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('license')
    [string]$result.text
}
