function Enter-AzcmUtf8Console {
    # Windows PowerShell decodes a native command's output with the console's code page: azcm
    # and dsc write UTF-8. Switches the console to UTF-8 and returns the encoding to give back
    # to Exit-AzcmUtf8Console, or $null where there is no console to switch.
    [CmdletBinding()]
    [OutputType([System.Text.Encoding])]
    param()

    try {
        $saved = [Console]::OutputEncoding
        [Console]::OutputEncoding = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false
        $saved
    } catch {
        $null
    }
}
