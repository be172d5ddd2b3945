function ConvertTo-AzcmAction {
    # One change of a connect or disconnect: azcm's fields (action, target, done) plus the
    # sentence an admin reads, which is also how it shows inside a summary ({Create resource
    # group HybridServers in westeurope, ...}, never @{action=...}).
    [CmdletBinding()]
    [OutputType('AzcmAgent.Action')]
    param(
        [Parameter(Mandatory = $true)]
        [object]$Action
    )

    $row = [pscustomobject]@{
        PSTypeName  = 'AzcmAgent.Action'
        Description = [string]$Action.description
        Action      = [string]$Action.action
        Target      = [string]$Action.target
        Done        = [bool]$Action.done
    }
    Add-Member -InputObject $row -MemberType ScriptMethod -Name 'ToString' -Value { $this.Description } -Force
    $row
}
