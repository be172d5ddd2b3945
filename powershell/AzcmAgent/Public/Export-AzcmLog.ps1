function Export-AzcmLog {
    <#
    .SYNOPSIS
    Collects the agent's logs and state into a zip for support, as 'azcmagent logs'.

    .DESCRIPTION
    Runs 'azcm logs' and returns the zip's FileInfo, with the manifest summary added as
    properties (AzcmFileCount, AzcmBytes, AzcmRedactions, AzcmRedacted, AzcmSkipped). Secrets are
    redacted unless -NoRedact. -Path is the zip to write or a folder for the default name
    (azcmagent-<TIMESTAMP>-<COMPUTERNAME>.zip). Progress is shown while the files are packed.

    .EXAMPLE
    Export-AzcmLog

    .EXAMPLE
    Export-AzcmLog -Full -Path C:\Temp\ | Select-Object FullName, Length, AzcmSkipped

    .EXAMPLE
    Export-AzcmLog -ComputerName srv01, srv02 -Path C:\Temp\ | Select-Object PSComputerName, FullName
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Low')]
    [OutputType([System.IO.FileInfo])]
    param(
        [Parameter(Mandatory = $false)]
        [switch]$Full,

        [Parameter(Mandatory = $false, Position = 0)]
        [Alias('Output')]
        [ValidateNotNullOrEmpty()]
        [string]$Path,

        [Parameter(Mandatory = $false)]
        [switch]$NoRedact,

        [Parameter(Mandatory = $false)]
        [ValidateRange(1, [long]::MaxValue)]
        [long]$MaxFileSize,

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
            # Each machine writes its archive locally (-Path as seen there); the FileInfo comes back.
            Invoke-AzcmFanOut -Cmdlet $PSCmdlet -Session $Session -ComputerName $ComputerName -Credential $Credential -Action 'Write the Azure Arc agent log archive' -ThrottleLimit $ThrottleLimit
            return
        }
        $arguments = New-Object -TypeName 'System.Collections.Generic.List[string]'
        if ($Full) {
            $arguments.Add('--full')
        }
        $target = (Get-Location).ProviderPath
        if ($Path) {
            $target = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)
            $arguments.Add('--output')
            $arguments.Add($target)
        }
        if ($NoRedact) {
            $arguments.Add('--no-redact')
        }
        if ($PSBoundParameters.ContainsKey('MaxFileSize')) {
            $arguments.Add('--max-file-size')
            $arguments.Add([string]$MaxFileSize)
        }
        if (-not $PSCmdlet.ShouldProcess($target, 'Write the Azure Arc agent log archive')) {
            return
        }
        $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('logs') -ArgumentList $arguments.ToArray() -TargetObject $target
        $file = Get-Item -LiteralPath $result.path
        Add-Member -InputObject $file -NotePropertyName 'AzcmFileCount' -NotePropertyValue ([int]$result.fileCount)
        Add-Member -InputObject $file -NotePropertyName 'AzcmBytes' -NotePropertyValue ([long]$result.bytes)
        Add-Member -InputObject $file -NotePropertyName 'AzcmRedactions' -NotePropertyValue ([int]$result.redactions)
        Add-Member -InputObject $file -NotePropertyName 'AzcmRedacted' -NotePropertyValue ([bool]$result.redacted)
        Add-Member -InputObject $file -NotePropertyName 'AzcmSkipped' -NotePropertyValue @($result.skipped)
        $file
    }
}
