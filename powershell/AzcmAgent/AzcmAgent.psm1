# Loads the private helpers first, then one public cmdlet per file.
$private = @(Get-ChildItem -Path (Join-Path -Path $PSScriptRoot -ChildPath 'Private') -Filter '*.ps1' -ErrorAction Stop)
$public = @(Get-ChildItem -Path (Join-Path -Path $PSScriptRoot -ChildPath 'Public') -Filter '*.ps1' -ErrorAction Stop)

foreach ($file in @($private + $public)) {
    . $file.FullName
}

Register-AzcmArgumentCompleter

Export-ModuleMember -Function ($public | ForEach-Object { $_.BaseName })
