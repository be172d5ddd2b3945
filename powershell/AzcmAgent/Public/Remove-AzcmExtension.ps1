function Remove-AzcmExtension {
    <#
    .SYNOPSIS
    Removes Azure Arc extensions from this machine (or many, with -Session).

    .DESCRIPTION
    Runs 'azcm extension remove': for each extension, the handler's uninstall command runs
    (stopped after -TimeoutSec), then its folder is deleted. The extension service must be
    stopped first. Asks for confirmation (ConfirmImpact High) unless -Confirm:$false; -WhatIf
    says what would be removed. Accepts AzcmAgent.Extension objects from Get-AzcmExtension.

    .PARAMETER Name
    The extension to remove, as Publisher.Type (tab completion lists the installed ones); from the
    pipeline by the Name property, for example from Get-AzcmExtension.

    .PARAMETER All
    Removes every installed extension.

    .PARAMETER TimeoutSec
    How long, in seconds, an extension's uninstall may run before it is stopped (default 300).

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
    Remove-AzcmExtension -Name Microsoft.Azure.Monitor.AzureMonitorWindowsAgent

    Removes the Azure Monitor agent extension locally (asks for confirmation).

    .EXAMPLE
    Get-AzcmExtension | Where-Object State -EQ 'error' | Remove-AzcmExtension -Confirm:$false

    Removes every extension in the error state without asking.

    .EXAMPLE
    Remove-AzcmExtension -All -WhatIf

    Shows which extensions would be removed, removing none.

    .INPUTS
    Objects with a Name property (AzcmAgent.Extension from Get-AzcmExtension): the extensions to remove.

    .OUTPUTS
    AzcmAgent.ExtensionRemoval: each extension, whether it was removed, its uninstall exit code or error, and its folder.

    .LINK
    about_AzcmAgent

    .LINK
    Get-AzcmExtension
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High', DefaultParameterSetName = 'Name')]
    [OutputType('AzcmAgent.ExtensionRemoval')]
    param(
        [Parameter(Mandatory = $true, ParameterSetName = 'Name', Position = 0, ValueFromPipelineByPropertyName = $true)]
        [ValidateNotNullOrEmpty()]
        [string]$Name,

        [Parameter(Mandatory = $true, ParameterSetName = 'All')]
        [switch]$All,

        [Parameter(Mandatory = $false)]
        [Alias('Timeout')]
        [ValidateRange(1, 3600)]
        [int]$TimeoutSec = 300,

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
        $target = $Name
        if ($All) {
            $target = 'every installed extension'
        }
        $action = 'Remove the Azure Arc extension ({0})' -f $target
        if ($Session -or $ComputerName -or $HostName) {
            Invoke-AzcmFanOut -Cmdlet $PSCmdlet -Action $action -ThrottleLimit $ThrottleLimit
            return
        }
        $arguments = New-Object -TypeName 'System.Collections.Generic.List[string]'
        if ($All) {
            $arguments.Add('--all')
        } else {
            $arguments.Add('--name')
            $arguments.Add($Name)
        }
        if ($WhatIfPreference) {
            # azcm checks the name (an unknown one is AZCM0023) and says what it would remove:
            # one "What if:" line per extension, nothing removed.
            $arguments.Add('--what-if')
            $plan = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('extension', 'remove') -ArgumentList $arguments.ToArray() -TargetObject $target
            foreach ($extension in @($plan.wouldRemove)) {
                $null = Confirm-AzcmAction -Cmdlet $PSCmdlet -Target ([System.Environment]::MachineName) -Action ('Remove the Azure Arc extension {0} {1}' -f $extension.name, $extension.version)
            }
            return
        }
        if (-not (Confirm-AzcmAction -Cmdlet $PSCmdlet -Target ([System.Environment]::MachineName) -Action $action)) {
            return
        }
        $arguments.Add('--timeout')
        $arguments.Add([string]$TimeoutSec)
        $arguments.Add('--yes')
        $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('extension', 'remove') -ArgumentList $arguments.ToArray() -TargetObject $target
        foreach ($removal in $result.removed) {
            $uninstallError = $null
            if ($null -ne $removal.PSObject.Properties['uninstallError']) {
                $uninstallError = [string]$removal.uninstallError
            }
            $exitCode = $null
            if ($null -ne $removal.PSObject.Properties['uninstall']) {
                $exitCode = $removal.uninstall.exitCode
            }
            [pscustomobject]@{
                PSTypeName        = 'AzcmAgent.ExtensionRemoval'
                Name              = [string]$removal.name
                Version           = [string]$removal.version
                Removed           = [bool]$removal.removed
                UninstallExitCode = $exitCode
                UninstallError    = $uninstallError
                Path              = [string]$removal.path
            }
        }
    }
}
