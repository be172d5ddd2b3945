function Exit-AzcmUtf8Console {
    # Gives the console back the encoding Enter-AzcmUtf8Console found.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory = $false)]
        [AllowNull()]
        [System.Text.Encoding]$Saved
    )

    if ($null -ne $Saved) {
        try {
            [Console]::OutputEncoding = $Saved
        } catch {
            Write-Debug -Message 'could not restore the console encoding'
        }
    }
}
