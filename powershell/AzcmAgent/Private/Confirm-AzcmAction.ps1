function Confirm-AzcmAction {
    # ShouldProcess for every cmdlet that changes something. Where nobody can answer the
    # confirmation prompt (-NonInteractive, a scheduled task), PowerShell throws from
    # ShouldProcess; inside an `if` that error was only reported, and the cmdlet went on and
    # made the change it had not been allowed to make. Here it stops the cmdlet instead.
    [CmdletBinding()]
    [OutputType([bool])]
    param(
        [Parameter(Mandatory = $true)]
        [System.Management.Automation.PSCmdlet]$Cmdlet,

        [Parameter(Mandatory = $true)]
        [string]$Target,

        [Parameter(Mandatory = $true)]
        [string]$Action
    )

    try {
        return $Cmdlet.ShouldProcess($Target, $Action)
    } catch {
        $why = $_.Exception.Message
        if ($null -ne $_.Exception.InnerException) {
            $why = $_.Exception.InnerException.Message
        }
        $info = [pscustomobject]@{
            code        = 'AZCM0011'
            message     = ('"{0}" on "{1}" was not done: it needs a confirmation that cannot be asked for here ({2})' -f $Action, $Target, $why)
            remediation = 'In scripts and non-interactive sessions pass -Confirm:$false to go ahead, or -WhatIf to see what would change.'
            details     = $null
        }
        $Cmdlet.ThrowTerminatingError((New-AzcmErrorRecord -ErrorInfo $info -TargetObject $Target -FromModule))
    }
}
