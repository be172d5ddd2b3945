function Get-AzcmExtension {
    <#
    .SYNOPSIS
    Gets the Azure Arc extensions installed on this machine (or many, with -Session).

    .DESCRIPTION
    Runs 'azcm extension list': one AzcmAgent.Extension per installed extension handler, with
    its version, the state of its newest status file and its size on disk. Pipe them to
    Remove-AzcmExtension to remove them locally.

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
    Get-AzcmExtension

    Lists the installed extensions with their version, state and size.

    .EXAMPLE
    Get-AzcmExtension | Where-Object State -EQ 'error' | Remove-AzcmExtension

    Removes every extension whose state is error (asks for confirmation).

    .OUTPUTS
    AzcmAgent.Extension: Name, Publisher, Type, Version, State, Operation, Message, StatusTime, SizeBytes, Path.

    .LINK
    about_AzcmAgent

    .LINK
    Remove-AzcmExtension
    #>
    [CmdletBinding()]
    [OutputType('AzcmAgent.Extension')]
    param(
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
            Invoke-AzcmFanOut -Cmdlet $PSCmdlet -ThrottleLimit $ThrottleLimit
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
