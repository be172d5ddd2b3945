<#
.SYNOPSIS
Onboard the servers listed in a CSV file to Azure Arc over PowerShell remoting.

.DESCRIPTION
The CSV names each server in a ComputerName column (WinRM remoting) or a HostName column (SSH
remoting, PowerShell 7: with -UserName, -KeyFilePath and -SshOptions), and optionally
ResourceGroup and Location columns that override the defaults per server. Servers are connected
in parallel (-ThrottleLimit); every server gets one row in the report (ComputerName, MachineName,
Status, ResourceId, Error), unreachable ones and failed ones too, written to -ReportPath. The
AzcmAgent module must be installed on the servers (Install-PSResource, or Copy-Item -ToSession).
Runs on Windows PowerShell 5.1 (WinRM) and PowerShell 7.

.EXAMPLE
$sp = Get-Credential -UserName $appId -Message 'Onboarding service principal secret'
./Connect-Fleet.ps1 -CsvPath servers.csv -ServicePrincipalCredential $sp -TenantId $tenant -SubscriptionId $sub -ResourceGroupName Servers -Location westeurope

Connects every server of servers.csv over WinRM, 64 at a time, and writes the report beside it.

.EXAMPLE
./Connect-Fleet.ps1 -CsvPath linux.csv -UserName root -KeyFilePath ~/.ssh/arc_onboarding -ServicePrincipalCredential $sp -TenantId $tenant -SubscriptionId $sub -ResourceGroupName Linux -Location westeurope -ThrottleLimit 16

Connects the Linux servers of linux.csv (a HostName column) over SSH with key authentication.
#>
[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
param(
    [Parameter(Mandatory = $true)]
    [string]$CsvPath,

    [Parameter(Mandatory = $true)]
    [System.Management.Automation.PSCredential]$ServicePrincipalCredential,

    [Parameter(Mandatory = $true)]
    [string]$TenantId,

    [Parameter(Mandatory = $true)]
    [string]$SubscriptionId,

    [Parameter(Mandatory = $true)]
    [string]$ResourceGroupName,

    [Parameter(Mandatory = $true)]
    [string]$Location,

    [Parameter(Mandatory = $false)]
    [string]$Cloud = 'AzureCloud',

    [Parameter(Mandatory = $false)]
    [System.Management.Automation.PSCredential]$RemotingCredential,

    [Parameter(Mandatory = $false)]
    [string]$UserName,

    [Parameter(Mandatory = $false)]
    [string]$KeyFilePath,

    [Parameter(Mandatory = $false)]
    [hashtable]$SshOptions,

    [Parameter(Mandatory = $false)]
    [int]$ThrottleLimit = 64,

    [Parameter(Mandatory = $false)]
    [string]$ReportPath = ('arc-onboarding-{0:yyyyMMdd-HHmmss}.csv' -f (Get-Date))
)

$ErrorActionPreference = 'Stop'
Import-Module -Name AzcmAgent
$servers = @(Import-Csv -LiteralPath $CsvPath)
$report = New-Object -TypeName 'System.Collections.Generic.List[object]'

# Group servers that share a resource group and location: one fan-out per group.
$groups = $servers | Group-Object -Property {
    $group = $ResourceGroupName
    if ($_.ResourceGroup) {
        $group = $_.ResourceGroup
    }
    $region = $Location
    if ($_.Location) {
        $region = $_.Location
    }
    '{0}|{1}' -f $group, $region
}

foreach ($group in $groups) {
    $group.Name -match '^(.*)\|(.*)$' | Out-Null
    $connect = @{
        ThrottleLimit              = $ThrottleLimit
        ServicePrincipalCredential = $ServicePrincipalCredential
        TenantId                   = $TenantId
        SubscriptionId             = $SubscriptionId
        ResourceGroupName          = $Matches[1]
        Location                   = $Matches[2]
        Cloud                      = $Cloud
        WhatIf                     = [bool]$WhatIfPreference
        Confirm                    = $false
    }
    $viaSsh = @($group.Group | Where-Object { $_.PSObject.Properties['HostName'] -and $_.HostName } | ForEach-Object { $_.HostName })
    $viaWinRm = @($group.Group | Where-Object { $_.PSObject.Properties['ComputerName'] -and $_.ComputerName } | ForEach-Object { $_.ComputerName })
    $runs = @()
    if ($viaWinRm.Count -gt 0) {
        $winRm = @{ ComputerName = $viaWinRm }
        if ($RemotingCredential) {
            $winRm['Credential'] = $RemotingCredential
        }
        $runs += $winRm
    }
    if ($viaSsh.Count -gt 0) {
        $ssh = @{ HostName = $viaSsh }
        foreach ($name in @('UserName', 'KeyFilePath')) {
            if ($PSBoundParameters.ContainsKey($name)) {
                $ssh[$name] = $PSBoundParameters[$name]
            }
        }
        if ($SshOptions) {
            $ssh['Options'] = $SshOptions
        }
        $runs += $ssh
    }
    foreach ($remoting in $runs) {
        # One row per server: connected, already connected, failed or unreachable.
        foreach ($result in Connect-AzcmAgent @connect @remoting) {
            $report.Add([pscustomobject]@{
                    ComputerName = $result.PSComputerName
                    MachineName  = $result.MachineName
                    Status       = $result.Status
                    ResourceId   = $result.ResourceId
                    Error        = $result.Error
                })
        }
    }
}

$report | Export-Csv -LiteralPath $ReportPath -NoTypeInformation
$report | Group-Object -Property Status | Select-Object -Property 'Name', 'Count' | Format-Table -AutoSize | Out-Host
$report
