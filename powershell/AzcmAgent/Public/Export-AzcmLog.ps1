function Export-AzcmLog {
    <#
    .SYNOPSIS
    Collects the agent's logs and state into a zip for support, as 'azcmagent logs'.

    .DESCRIPTION
    Runs 'azcm logs' and returns the zip's FileInfo, with the manifest summary added as
    properties (AzcmFileCount, AzcmBytes, AzcmRedactions, AzcmRedacted, AzcmSkipped). Secrets are
    redacted unless -NoRedact. -Path is the zip to write or a folder for the default name
    (azcmagent-<TIMESTAMP>-<COMPUTERNAME>.zip). Progress is shown while the files are packed.

    .PARAMETER Full
    Collects everything the agent logs, also the older rotated files and extension logs beyond the
    recent ones.

    .PARAMETER Path
    Where to write the archive: a file name, or an existing folder for the default name
    azcmagent-<time>-<computer>.zip (default: the current folder).

    .PARAMETER NoRedact
    Leaves secrets (tokens, SAS signatures, passwords) in the archive; store and send it as you
    would those secrets.

    .PARAMETER MaxFileSize
    The most bytes taken from one log file (its newest part is kept).

    .PARAMETER Session
    Runs the cmdlet on the machines of these PowerShell sessions (the AzcmAgent module must be
    installed there) and returns their results, each with PSComputerName and MachineName.

    .PARAMETER ComputerName
    Runs the cmdlet on these machines over WinRM remoting: sessions are opened, used and closed; a
    machine that cannot be reached gets a row (or an error) of its own.

    .PARAMETER HostName
    Runs the cmdlet on these machines over SSH remoting (PowerShell 7; SSH key or agent
    authentication, the powershell subsystem on each machine). Windows PowerShell 5.1 has no SSH
    remoting: use -ComputerName or -Session.

    .PARAMETER UserName
    The user to sign in to the -HostName machines as, over SSH.

    .PARAMETER KeyFilePath
    The private key file to authenticate to the -HostName machines with, over SSH.

    .PARAMETER Port
    The SSH port of the -HostName machines (default 22).

    .PARAMETER Options
    SSH options for the -HostName sessions, as New-PSSession -Options takes them: a hashtable of ssh
    -o settings, for example @{ StrictHostKeyChecking = 'yes'; UserKnownHostsFile =
    '~/.ssh/fleet_known_hosts' }.

    .PARAMETER Credential
    The account to open the -ComputerName (WinRM) sessions with.

    .PARAMETER ThrottleLimit
    How many machines work at once with -Session, -ComputerName or -HostName (default 32).

    .EXAMPLE
    Export-AzcmLog

    Writes the support archive into the current folder under the default name.

    .EXAMPLE
    Export-AzcmLog -Full -Path C:\Temp\ | Select-Object FullName, Length, AzcmSkipped

    Writes a full archive into C:\Temp\ and shows its size and what was skipped.

    .EXAMPLE
    Export-AzcmLog -ComputerName srv01, srv02 -Path C:\Temp\ | Select-Object PSComputerName, FullName

    Writes an archive on each of two servers and lists where each one is.

    .OUTPUTS
    System.IO.FileInfo: the archive, with AzcmFileCount, AzcmBytes, AzcmRedactions, AzcmRedacted and AzcmSkipped from its manifest.

    .LINK
    about_AzcmAgent

    .LINK
    Get-AzcmAgent

    .LINK
    Test-AzcmConnectivity
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
            Invoke-AzcmFanOut -Cmdlet $PSCmdlet -Action 'Write the Azure Arc agent log archive' -ThrottleLimit $ThrottleLimit
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
        if (-not (Confirm-AzcmAction -Cmdlet $PSCmdlet -Target $target -Action 'Write the Azure Arc agent log archive')) {
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
