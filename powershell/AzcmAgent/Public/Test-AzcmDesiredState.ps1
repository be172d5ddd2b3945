function Test-AzcmDesiredState {
    <#
    .SYNOPSIS
    Tests whether this machine (or many) is in the desired state a DSC v3 configuration document describes.

    .DESCRIPTION
    Runs Microsoft's dsc (v3) 'config test' on the document and returns one row per resource: in
    the desired state or not, and which properties differ. Nothing changes.
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
    Test-AzcmDesiredState -Path ./arc-settings.dsc.yaml -Parameter @{ proxyUrl = 'http://proxy.contoso.corp:8080' }

    Tests this machine's agent settings against the document.

    .EXAMPLE
    Test-AzcmDesiredState -Path ./arc-settings.dsc.yaml -HostName web01, web02 -UserName root -KeyFilePath ~/.ssh/arc

    Tests two machines over SSH: one row per machine and resource.

    .OUTPUTS
    AzcmAgent.DesiredState: MachineName, Resource, Type, Status (InDesiredState, Drifted, and with fan-out Failed or Unreachable), InDesiredState, DifferingProperties, ChangedProperties, Error.

    .LINK
    about_AzcmAgent

    .LINK
    Set-AzcmDesiredState
    #>
    [CmdletBinding(DefaultParameterSetName = 'Path')]
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
        if ($Session -or $ComputerName -or $HostName) {
            Invoke-AzcmFanOut -Cmdlet $PSCmdlet -Request @($source.Request) -ThrottleLimit $ThrottleLimit -FailureTypeName 'AzcmAgent.DesiredState' -RowShape $script:AzcmDesiredStateRowShape
            return
        }
        Invoke-AzcmDsc -Cmdlet $PSCmdlet -Operation 'test' -Document $source.Text -Parameter $Parameter
    }
}
