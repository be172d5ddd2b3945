function Get-AzcmExtension {
    <#
    .SYNOPSIS
    Gets the Azure Arc extensions installed on this machine (or many, with -Session).

    .DESCRIPTION
    Runs 'azcm extension list': one AzcmAgent.Extension per installed extension handler, with
    its version, the state of its newest status file and its size on disk. Pipe them to
    Remove-AzcmExtension to remove them locally.

    .EXAMPLE
    Get-AzcmExtension

    .EXAMPLE
    Get-AzcmExtension | Where-Object State -EQ 'error' | Remove-AzcmExtension
    #>
    [CmdletBinding()]
    [OutputType('AzcmAgent.Extension')]
    param(
        [Parameter(Mandatory = $false)]
        [System.Management.Automation.Runspaces.PSSession[]]$Session,

        [Parameter(Mandatory = $false)]
        [ValidateNotNullOrEmpty()]
        [string[]]$ComputerName,

        [Parameter(Mandatory = $false)]
        [ValidateNotNullOrEmpty()]
        [string[]]$HostName,

        [Parameter(Mandatory = $false)]
        [ValidateNotNullOrEmpty()]
        [string]$UserName,

        [Parameter(Mandatory = $false)]
        [ValidateNotNullOrEmpty()]
        [string]$KeyFilePath,

        [Parameter(Mandatory = $false)]
        [ValidateRange(1, 65535)]
        [int]$Port,

        [Parameter(Mandatory = $false)]
        [hashtable]$Options,

        [Parameter(Mandatory = $false)]
        [System.Management.Automation.PSCredential]$Credential,

        [Parameter(Mandatory = $false)]
        [ValidateRange(1, 1024)]
        [int]$ThrottleLimit = 32
    )

    process {
        if ($Session -or $ComputerName -or $HostName) {
            Invoke-AzcmFanOut -Cmdlet $PSCmdlet -Session $Session -ComputerName $ComputerName -Credential $Credential -ThrottleLimit $ThrottleLimit
            return
        }
        $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('extension', 'list')
        foreach ($extension in $result.extensions) {
            [pscustomobject]@{
                PSTypeName = 'AzcmAgent.Extension'
                Name       = [string]$extension.name
                Publisher  = [string]$extension.publisher
                Type       = [string]$extension.type
                Version    = [string]$extension.version
                State      = [string]$extension.state
                Operation  = [string]$extension.operation
                Message    = [string]$extension.message
                StatusTime = [string]$extension.statusTime
                SizeBytes  = [long]$extension.sizeBytes
                Path       = [string]$extension.path
            }
        }
    }
}
