function Get-AzcmVersion {
    <#
    .SYNOPSIS
    Gets the version, build target and source revision of the azcm binary the module runs.

    .DESCRIPTION
    Runs 'azcm license': the licence text azcm is distributed under (MIT), as one string.

    .PARAMETER Session
    Runs the cmdlet on the machines of these PowerShell sessions (the AzcmAgent module must be
    installed there) and returns their results, each with PSComputerName and MachineName.

    .PARAMETER ThrottleLimit
    How many machines work at once with -Session, -ComputerName or -HostName (default 32).

    .EXAMPLE
    Get-AzcmVersion

    Shows the version of azcm and of the module, and which binary the module runs.

    .OUTPUTS
    AzcmAgent.Version: the name, version, target, git revision and build profile of azcm, and the binary the module runs.

    .LINK
    about_AzcmAgent

    .LINK
    Get-AzcmLicense
    #>
    [CmdletBinding()]
    [OutputType('AzcmAgent.Version')]
    param(
        # A variable that holds no session (none opened) must not turn a fleet run into a local one.
        [Parameter(Mandatory = $false)]
        [ValidateNotNullOrEmpty()]
        [System.Management.Automation.Runspaces.PSSession[]]$Session,

        [Parameter(Mandatory = $false)]
        [ValidateRange(1, 1024)]
        [int]$ThrottleLimit = 32
    )

    process {
        if ($Session) {
            Invoke-AzcmFanOut -Cmdlet $PSCmdlet -ThrottleLimit $ThrottleLimit
            return
        }
        $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('version')
        [pscustomobject]@{
            PSTypeName    = 'AzcmAgent.Version'
            Name          = [string]$result.name
            Version       = [string]$result.version
            Target        = [string]$result.target
            GitRevision   = [string]$result.gitRevision
            Profile       = [string]$result.profile
            SchemaVersion = [int]$result.schemaVersion
            Binary        = Resolve-AzcmBinary
        }
    }
}
