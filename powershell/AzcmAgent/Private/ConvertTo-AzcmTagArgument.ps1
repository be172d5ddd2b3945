function ConvertTo-AzcmTagArgument {
    # A hashtable of tags in azcmagent's --tags syntax: Name=Value pairs separated by commas,
    # names and values in single quotes (doubled inside) when they hold separators or spaces.
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory = $true)]
        [System.Collections.IDictionary]$Tag
    )

    $pairs = foreach ($key in ($Tag.Keys | Sort-Object)) {
        $parts = foreach ($text in @([string]$key, [string]$Tag[$key])) {
            if ($text -match "[,=' ]" -or $text -ne $text.Trim()) {
                "'" + $text.Replace("'", "''") + "'"
            } else {
                $text
            }
        }
        '{0}={1}' -f $parts[0], $parts[1]
    }
    $pairs -join ','
}
