function Get-AzcmVersion {
    <#
    .SYNOPSIS
    Gets the version, build target and source revision of the azcm binary the module runs.

    .EXAMPLE
    Get-AzcmVersion
    #>
    [CmdletBinding()]
    [OutputType('AzcmAgent.Version')]
    param(
        [Parameter(Mandatory = $false)]
        [System.Management.Automation.Runspaces.PSSession[]]$Session,

        [Parameter(Mandatory = $false)]
        [ValidateRange(1, 1024)]
        [int]$ThrottleLimit = 32
    )

    process {
        if ($Session) {
            Invoke-AzcmFanOut -Cmdlet $PSCmdlet -Session $Session -ThrottleLimit $ThrottleLimit
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
