function ConvertTo-AzcmCommandLineArgument {
    # One argument quoted by the rules Windows programs (and .NET on Unix) split a command line
    # with: in double quotes, a quote as \", backslashes doubled where a quote follows them.
    # Legacy argument passing adds quotes only around arguments with unquoted spaces and escapes
    # nothing; an argument quoted here has no unquoted space, so it is passed as it is and
    # arrives byte for byte: quotes, backslashes, a trailing backslash, an empty string.
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [string]$Argument
    )

    $builder = New-Object -TypeName System.Text.StringBuilder
    [void]$builder.Append('"')
    $backslashes = 0
    foreach ($character in $Argument.ToCharArray()) {
        if ($character -eq [char]'\') {
            $backslashes++
            continue
        }
        if ($character -eq [char]'"') {
            [void]$builder.Append([char]'\', (2 * $backslashes) + 1)
        } elseif ($backslashes -gt 0) {
            [void]$builder.Append([char]'\', $backslashes)
        }
        $backslashes = 0
        [void]$builder.Append($character)
    }
    # Backslashes before the closing quote are doubled, so they stay backslashes.
    [void]$builder.Append([char]'\', 2 * $backslashes)
    [void]$builder.Append('"')
    $builder.ToString()
}
