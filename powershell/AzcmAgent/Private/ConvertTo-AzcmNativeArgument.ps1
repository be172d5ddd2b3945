function ConvertTo-AzcmNativeArgument {
    # The words to hand a native program (azcm, ssh) so that it receives exactly these strings.
    # 'Standard' and 'Windows' argument passing give them over as a list, byte for byte. 'Legacy'
    # (Windows PowerShell 5.1, the shell of Intune and GPO scripts; PowerShell before 7.3) adds
    # quotes only around words with unquoted spaces and escapes nothing, so a value with a double
    # quote could split into other words, even flags. There each word is quoted here by the rules
    # Windows programs (and .NET on Unix) split a command line with: in double quotes, a quote as
    # \", backslashes doubled where a quote follows them. A word quoted so has no unquoted space,
    # is passed as it is and arrives byte for byte: quotes, backslashes, a trailing backslash, an
    # empty string.
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [AllowEmptyString()]
        [string[]]$Argument
    )

    if (-not (Test-AzcmLegacyArgumentPassing)) {
        return $Argument
    }
    foreach ($word in $Argument) {
        $builder = New-Object -TypeName System.Text.StringBuilder
        [void]$builder.Append('"')
        $backslashes = 0
        foreach ($character in $word.ToCharArray()) {
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
}
