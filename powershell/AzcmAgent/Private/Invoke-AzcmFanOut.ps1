function Invoke-AzcmFanOut {
    # Runs the same AzcmAgent cmdlet on many machines over PowerShell remoting. Only the
    # cmdlet name and its arguments travel; each machine needs the module installed. A failure
    # on one machine is reported for that machine (PSComputerName) and never stops the others.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory = $true)]
        [System.Management.Automation.Runspaces.PSSession[]]$Session,

        [Parameter(Mandatory = $true)]
        [string]$CommandName,

        [Parameter(Mandatory = $true)]
        [hashtable]$Parameters,

        [Parameter(Mandatory = $false)]
        [ValidateRange(1, 1024)]
        [int]$ThrottleLimit = 32
    )

    $remote = {
        param($Name, $Arguments)
        Import-Module -Name AzcmAgent -ErrorAction Stop
        & $Name @Arguments
    }
    Invoke-Command -Session $Session -ScriptBlock $remote -ArgumentList @($CommandName, $Parameters) -ThrottleLimit $ThrottleLimit
}
