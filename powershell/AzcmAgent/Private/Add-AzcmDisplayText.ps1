function Add-AzcmDisplayText {
    # Gives a nested object of a result (a skipped endpoint, a service, a step) the words it shows
    # as wherever PowerShell prints it inside another object (lists, Format-List *, out-of-band
    # formatting), instead of @{name=…; result=…}.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory = $true)]
        [AllowNull()]
        [object]$InputObject,

        [Parameter(Mandatory = $true)]
        [scriptblock]$Text
    )

    if ($null -eq $InputObject) {
        return
    }
    Add-Member -InputObject $InputObject -MemberType ScriptMethod -Name 'ToString' -Value $Text -Force -PassThru
}
