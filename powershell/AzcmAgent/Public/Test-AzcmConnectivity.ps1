function Test-AzcmConnectivity {
    <#
    .SYNOPSIS
    Tests whether this machine (or many, with -Session) reaches every Azure Arc endpoint.

    .DESCRIPTION
    Runs 'azcm check': every endpoint the agent needs in the cloud and region (the connected ones
    by default) is checked concurrently, stage by stage: DNS, the private-link rule, TCP or the
    proxy / Arc gateway hop, TLS and HTTP. Returns one AzcmAgent.EndpointCheck per endpoint (the
    failing stage, the cause and the remedy included) and an AzcmAgent.ConnectivitySummary. When a
    required endpoint fails, the results are still returned and an AZCM0026 error is written.
    -Quiet returns only $true or $false, like Test-NetConnection -Quiet.

    .PARAMETER Location
    The region to check (default: the connected machine's); tab completion lists the cloud's
    regions.

    .PARAMETER Cloud
    The cloud to check (default: the connected machine's, else AzureCloud).

    .PARAMETER EnablePrivateLinkCheck
    Checks that the endpoints resolve to private addresses, as a private link scope needs.

    .PARAMETER DnsServer
    Resolves with this DNS server (an IP address with an optional port) instead of the system's.

    .PARAMETER Extension
    Also checks the endpoints of these extensions: sql, esu.

    .PARAMETER IncludeAll
    Checks every endpoint of the catalogue, also those of extensions.

    .PARAMETER TimeoutSec
    How long, in seconds, each stage of a probe (DNS, TCP, TLS, HTTP) may take (default 10).

    .PARAMETER Quiet
    Returns only $true (every required endpoint is reachable) or $false.

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
    Test-AzcmConnectivity -Location westeurope

    Checks every required endpoint of West Europe, stage by stage.

    .EXAMPLE
    Test-AzcmConnectivity -Location westeurope -EnablePrivateLinkCheck -DnsServer 10.0.0.4 | Where-Object { -not $_.Ok }

    Checks with the private-link rule through a given DNS server, and lists the endpoints that fail.

    .EXAMPLE
    if (-not (Test-AzcmConnectivity -Quiet)) { Write-Warning 'Azure Arc endpoints unreachable' }

    Warns when the endpoints of the connected machine's region are not all reachable.

    .EXAMPLE
    Test-AzcmConnectivity -ComputerName (Get-Content servers.txt) -Location eastus -Quiet

    Checks East US from every server of a text file, one $true or $false each.

    .OUTPUTS
    AzcmAgent.EndpointCheck per endpoint and one AzcmAgent.ConnectivitySummary; System.Boolean with -Quiet.

    .LINK
    about_AzcmAgent

    .LINK
    Connect-AzcmAgent

    .LINK
    Get-AzcmAgent
    #>
    [CmdletBinding()]
    [OutputType('AzcmAgent.EndpointCheck', 'AzcmAgent.ConnectivitySummary', [bool])]
    param(
        [Parameter(Mandatory = $false, Position = 0)]
        [ValidateNotNullOrEmpty()]
        [string]$Location,

        [Parameter(Mandatory = $false)]
        [ValidateNotNullOrEmpty()]
        [string]$Cloud,

        [Parameter(Mandatory = $false)]
        [Alias('EnablePlsCheck')]
        [switch]$EnablePrivateLinkCheck,

        [Parameter(Mandatory = $false)]
        [ValidateNotNullOrEmpty()]
        [string]$DnsServer,

        [Parameter(Mandatory = $false)]
        [Alias('Extensions')]
        [ValidateSet('sql', 'esu')]
        [string[]]$Extension,

        [Parameter(Mandatory = $false)]
        [switch]$IncludeAll,

        [Parameter(Mandatory = $false)]
        [Alias('Timeout')]
        [ValidateRange(1, 300)]
        [int]$TimeoutSec = 10,

        [Parameter(Mandatory = $false)]
        [switch]$Quiet,

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
        $arguments = New-Object -TypeName 'System.Collections.Generic.List[string]'
        if ($Location) {
            $arguments.Add('--location')
            $arguments.Add($Location)
        }
        if ($Cloud) {
            $arguments.Add('--cloud')
            $arguments.Add($Cloud)
        }
        if ($EnablePrivateLinkCheck) {
            $arguments.Add('--enable-pls-check')
        }
        if ($DnsServer) {
            $arguments.Add('--dns-server')
            $arguments.Add($DnsServer)
        }
        if ($Extension) {
            $arguments.Add('--extensions')
            $arguments.Add(($Extension -join ','))
        }
        if ($IncludeAll) {
            $arguments.Add('--include-all')
        }
        $arguments.Add('--timeout')
        $arguments.Add([string]$TimeoutSec)

        $report = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('check') -ArgumentList $arguments.ToArray() -FailureResultKey 'check'
        $failure = $null
        if ($null -ne $report.PSObject.Properties['AzcmErrorRecord']) {
            $failure = $report.AzcmErrorRecord
        }
        if ($Quiet) {
            return [bool]$report.summary.ok
        }
        foreach ($endpoint in $report.endpoints) {
            $private = $false
            if ($null -ne $endpoint.stages.PSObject.Properties['dns']) {
                $private = [bool](@($endpoint.stages.dns.addresses | Where-Object { $_.private }).Count)
            }
            $tls = $null
            if ($null -ne $endpoint.stages.PSObject.Properties['tls']) {
                $tls = $endpoint.stages.tls.PSObject.Properties['version']
            }
            $stage = $null
            $cause = $null
            $remedy = $null
            if ($null -ne $endpoint.PSObject.Properties['failure']) {
                $stage = [string]$endpoint.failure.stage
                $cause = [string]$endpoint.failure.message
                $remedy = [string]$endpoint.failure.remediation
            }
            $tlsVersion = $null
            if ($null -ne $tls) {
                $tlsVersion = [string]$tls.Value
            }
            [pscustomobject]@{
                PSTypeName   = 'AzcmAgent.EndpointCheck'
                Id           = [string]$endpoint.id
                UseCase      = [string]$endpoint.useCase
                Url          = [string]$endpoint.url
                Category     = [string]$endpoint.category
                Required     = [bool]$endpoint.required
                Reachable    = [bool]$endpoint.reachable
                Ok           = [bool]$endpoint.ok
                Private      = $private
                Route        = [string]$endpoint.route
                TlsVersion   = $tlsVersion
                Milliseconds = [int]$endpoint.totalMs
                FailedStage  = $stage
                Failure      = $cause
                Remediation  = $remedy
                Stages       = Add-AzcmDisplayText -InputObject $endpoint.stages -Text {
                    $parts = foreach ($stage in @('dns', 'tcp', 'tls', 'http')) {
                        $measured = $this.$stage
                        if ($null -ne $measured) {
                            $verdict = 'ok'
                            if (-not $measured.ok) {
                                $verdict = 'failed'
                            }
                            '{0} {1} ({2} ms)' -f $stage.ToUpperInvariant(), $verdict, $measured.ms
                        }
                    }
                    if ($parts) {
                        @($parts) -join ', '
                    } else {
                        'none measured'
                    }
                }
            }
        }
        $summary = $report.summary
        $skew = $null
        if ($null -ne $summary.PSObject.Properties['clockSkew']) {
            $skew = [int]$summary.clockSkew.seconds
        }
        $proxy = $null
        if ($null -ne $summary.PSObject.Properties['proxy']) {
            $proxy = [string]$summary.proxy
        }
        $gateway = $null
        if ($null -ne $summary.PSObject.Properties['gateway']) {
            $gateway = [string]$summary.gateway
        }
        $hisRegion = $null
        if ($null -ne $summary.hisRegion.PSObject.Properties['code']) {
            $hisRegion = [string]$summary.hisRegion.code
        }
        [pscustomobject]@{
            PSTypeName        = 'AzcmAgent.ConnectivitySummary'
            Ok                = [bool]$summary.ok
            RequiredReachable = [int]$summary.requiredReachable
            RequiredTotal     = [int]$summary.requiredTotal
            Cloud             = [string]$report.cloud
            Location          = [string]$report.location
            HisRegion         = $hisRegion
            HisRegionSource   = [string]$summary.hisRegion.source
            ClockSkewSeconds  = $skew
            Proxy             = $proxy
            Gateway           = $gateway
            PrivateLinkCheck  = [bool]$summary.privateLinkCheck
            DnsServer         = [string]$summary.dnsServer
            AzureVm           = [bool]$summary.azureVm.detected
            Milliseconds      = [int]$summary.wallMs
            Skipped           = @($summary.skipped | ForEach-Object { Add-AzcmDisplayText -InputObject $_ -Text { '{0}: {1}' -f $this.id, $this.reason } })
        }
        if ($null -ne $failure) {
            $PSCmdlet.WriteError($failure)
        }
    }
}
