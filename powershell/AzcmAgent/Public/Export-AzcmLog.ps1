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

    .PARAMETER Destination
    With -Session, -ComputerName or -HostName: a folder on this machine that each machine's archive
    is brought back to, as <machine>-azcmagent-<time>.zip (<machine> as it was asked for); the copy
    on the machine is then removed unless -KeepRemoteCopy. Created when missing.

    .PARAMETER KeepRemoteCopy
    With -Destination: leaves each machine's archive where it was written there (RemotePath).

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

    .EXAMPLE
    Export-AzcmLog -HostName web01, web02 -UserName admin -Destination .\support\ -Confirm:$false

    Brings both servers' archives back into .\support\ (web01-azcmagent-<time>.zip, ...), one file per
    server; a server that fails or cannot be reached is an error of its own and the others go on.

    .OUTPUTS
    System.IO.FileInfo: the archive, with AzcmFileCount, AzcmBytes, AzcmRedactions, AzcmRedacted and AzcmSkipped from its manifest; with remoting also PSComputerName and MachineName (and with -Destination RemotePath, where it was written on the machine).

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
        [ValidateNotNullOrEmpty()]
        [string]$Destination,

        [Parameter(Mandatory = $false)]
        [switch]$KeepRemoteCopy,

        # A variable that holds no session (none opened) must not turn a fleet run into a local one.
        [Parameter(Mandatory = $false)]
        [ValidateNotNullOrEmpty()]
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
            # Each machine writes its archive there (-Path as seen there); its FileInfo comes back,
            # or with -Destination the archive itself.
            if (-not $Destination) {
                Invoke-AzcmFanOut -Cmdlet $PSCmdlet -Action 'Write the Azure Arc agent log archive' -ThrottleLimit $ThrottleLimit
                return
            }
            $folder = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Destination)
            if (-not (Test-Path -LiteralPath $folder -PathType Container)) {
                New-Item -ItemType Directory -Path $folder -Force -ErrorAction Stop | Out-Null
            }
            $keep = [bool]$KeepRemoteCopy
            $cmdlet = $PSCmdlet
            # Runs for each machine's row as it arrives, while its session is open. A closure:
            # it sees only these variables, whatever the fan-out's own are called.
            $fetch = {
                param($Row, $RemoteSession)
                $asked = [string]$Row.PSComputerName
                try {
                    $stamp = $Row.LastWriteTime.ToUniversalTime().ToString('yyyyMMddTHHmmss')
                    if ([string]$Row.Name -match '^azcmagent-([0-9]{8}T[0-9]{6})') {
                        $stamp = $Matches[1]
                    }
                    $safe = $asked -replace '[^A-Za-z0-9._-]', '_'
                    $local = Join-Path -Path $folder -ChildPath ('{0}-azcmagent-{1}.zip' -f $safe, $stamp)
                    Copy-Item -FromSession $RemoteSession -LiteralPath ([string]$Row.FullName) -Destination $local -Force -ErrorAction Stop
                    if (-not $keep) {
                        Invoke-Command -Session $RemoteSession -ScriptBlock {
                            param($RemotePath)
                            Remove-Item -LiteralPath $RemotePath -Force
                        } -ArgumentList ([string]$Row.FullName) -ErrorAction Stop
                    }
                    $file = Get-Item -LiteralPath $local -ErrorAction Stop
                    foreach ($property in @('PSComputerName', 'MachineName', 'AzcmFileCount', 'AzcmBytes', 'AzcmRedactions', 'AzcmRedacted', 'AzcmSkipped')) {
                        Add-Member -InputObject $file -NotePropertyName $property -NotePropertyValue $Row.$property -Force
                    }
                    $remotePath = $null
                    if ($keep) {
                        $remotePath = [string]$Row.FullName
                    }
                    Add-Member -InputObject $file -NotePropertyName 'RemotePath' -NotePropertyValue $remotePath -Force
                    $file
                } catch {
                    $exception = New-Object -TypeName System.IO.IOException -ArgumentList ('{0}: the archive {1} was written there but could not be brought back: {2}' -f $asked, $Row.FullName, $_.Exception.Message), $_.Exception
                    $cmdlet.WriteError((New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList @($exception, 'LogArchiveNotFetched', [System.Management.Automation.ErrorCategory]::ReadError, $asked)))
                }
            }.GetNewClosure()
            Invoke-AzcmFanOut -Cmdlet $PSCmdlet -Action 'Write the Azure Arc agent log archive' -ThrottleLimit $ThrottleLimit -OnRow $fetch
            return
        }
        if ($Destination -or $KeepRemoteCopy) {
            $exception = New-Object -TypeName System.ArgumentException -ArgumentList '-Destination and -KeepRemoteCopy bring archives back from other machines (-Session, -ComputerName, -HostName); on this machine -Path says where the archive goes.'
            $PSCmdlet.ThrowTerminatingError((New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList @($exception, 'DestinationNeedsRemoting', [System.Management.Automation.ErrorCategory]::InvalidArgument, $Destination)))
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
