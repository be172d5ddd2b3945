function Set-AzcmDesiredState {
    <#
    .SYNOPSIS
    Brings this machine (or many) to the desired state a DSC v3 configuration document describes.

    .DESCRIPTION
    Runs Microsoft's dsc (v3) 'config set' on the document: every resource it names is brought to its
    desired state (azcm's Azcm/Connection for the connection to Azure Arc, Azcm/Settings for the
    agent's settings, and any other DSC resource the machine has). -WhatIf runs dsc's what-if instead: nothing changes, and the rows say what would.
    Asks for confirmation per machine (-Confirm); a resource dsc cannot converge is a terminating
    error with the AZCM code it names (with -Session, -ComputerName or -HostName, a Failed row).
    dsc must be on PATH (https://aka.ms/dsc); it finds azcm's resources beside the azcm this module
    runs. The document's parameters come from -Parameter: SecureString and PSCredential values
    (the password) stay secret, reaching dsc on its stdin only. With -Session, -ComputerName or
    -HostName, the document and parameters travel to each machine (which needs the AzcmAgent module
    and dsc) and every machine answers with its rows, PSComputerName naming it; a machine that
    cannot be reached is one Unreachable row.

    .PARAMETER Path
    The configuration document (YAML or JSON), for example examples/arc-settings.dsc.yaml.

    .PARAMETER Document
    The configuration document's text, instead of -Path.

    .PARAMETER Parameter
    The document's parameters by name, for example @{ proxyUrl = 'http://proxy.contoso.corp:8080' }.

    .PARAMETER Session
    Runs on the machines of these PowerShell sessions and returns their rows.

    .PARAMETER ComputerName
    Runs on these machines over WinRM (sessions opened and closed here).

    .PARAMETER HostName
    Runs on these machines over SSH (PowerShell 7), with -UserName, -KeyFilePath, -Port, -Options.

    .PARAMETER UserName
    The SSH user for -HostName.

    .PARAMETER KeyFilePath
    The SSH private key for -HostName.

    .PARAMETER Port
    The SSH port for -HostName.

    .PARAMETER Options
    SSH options for -HostName (as New-PSSession -Options takes them).

    .PARAMETER Credential
    The credential for -ComputerName.

    .PARAMETER ThrottleLimit
    How many machines work at once with -Session, -ComputerName or -HostName (default 32).

    .EXAMPLE
    Set-AzcmDesiredState -Path ./arc-settings.dsc.yaml -Parameter @{ proxyUrl = 'http://proxy.contoso.corp:8080' }

    Applies the agent settings the document describes to this machine.

    .EXAMPLE
    Set-AzcmDesiredState -Path ./arc-settings.dsc.yaml -HostName web01, web02 -UserName root -KeyFilePath ~/.ssh/arc -WhatIf

    Shows what would change on two machines over SSH, changing nothing.

    .OUTPUTS
    AzcmAgent.DesiredState: MachineName, Resource, Type, Status (InDesiredState, Converged, WouldChange, and with fan-out Failed or Unreachable), InDesiredState, DifferingProperties, ChangedProperties, Error.

    .LINK
    about_AzcmAgent

    .LINK
    Test-AzcmDesiredState
    #>
    [CmdletBinding(DefaultParameterSetName = 'Path', SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
    [OutputType('AzcmAgent.DesiredState')]
    param(
        [Parameter(Mandatory = $true, Position = 0, ParameterSetName = 'Path')]
        [ValidateNotNullOrEmpty()]
        [string]$Path,

        [Parameter(Mandatory = $true, ParameterSetName = 'Document')]
        [ValidateNotNullOrEmpty()]
        [string]$Document,

        [Parameter(Mandatory = $false)]
        [hashtable]$Parameter = @{},

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
        # Not $document: that is the -Document parameter, a [string].
        $source = Resolve-AzcmDesiredStateDocument -Cmdlet $PSCmdlet
        $text = $source.Text
        $action = 'Apply the desired state of {0}' -f $source.Label
        if ($Session -or $ComputerName -or $HostName) {
            $fanOut = @{ Cmdlet = $PSCmdlet; Request = @($source.Request); ThrottleLimit = $ThrottleLimit; FailureTypeName = 'AzcmAgent.DesiredState'; RowShape = $script:AzcmDesiredStateRowShape }
            if ([bool]$WhatIfPreference) {
                # Each machine runs dsc's what-if: nothing changes anywhere.
                Invoke-AzcmFanOut @fanOut -Override @{ WhatIf = $true }
            } else {
                Invoke-AzcmFanOut @fanOut -Action $action
            }
            return
        }
        if (-not (Confirm-AzcmAction -Cmdlet $PSCmdlet -Target ([System.Environment]::MachineName) -Action $action)) {
            if ($WhatIfPreference) {
                Invoke-AzcmDsc -Cmdlet $PSCmdlet -Operation 'set' -Document $text -Parameter $Parameter -WhatIfOnly
            }
            return
        }
        Invoke-AzcmDsc -Cmdlet $PSCmdlet -Operation 'set' -Document $text -Parameter $Parameter
    }
}
