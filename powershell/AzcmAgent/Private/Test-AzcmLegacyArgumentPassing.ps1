function Test-AzcmLegacyArgumentPassing {
    # Whether this PowerShell joins native arguments into one command line the 'Legacy' way:
    # Windows PowerShell 5.1 and PowerShell before 7.3 always (they have no
    # $PSNativeCommandArgumentPassing), 7.3 and later when it is set to 'Legacy'. 'Standard' and
    # 'Windows' pass azcm's arguments as a list, byte for byte.
    [CmdletBinding()]
    [OutputType([bool])]
    param()

    $mode = Get-Variable -Name 'PSNativeCommandArgumentPassing' -ValueOnly -ErrorAction SilentlyContinue
    if ($null -eq $mode) {
        return $true
    }
    return ([string]$mode -eq 'Legacy')
}
