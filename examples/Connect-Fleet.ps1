<#
.SYNOPSIS
Onboard the servers listed in a CSV file to Azure Arc over PowerShell remoting.

.DESCRIPTION
The CSV has a ComputerName column, and optionally ResourceGroup and Location columns that
override the defaults per server. Sessions are opened in bulk; servers that cannot be reached are
reported, the others are connected in parallel (-ThrottleLimit), and every server gets one row in
the report (Status, ResourceId, Error), written to -ReportPath. The AzcmAgent module must be
installed on the servers (Install-Module, or Copy-Item -ToSession). Runs on Windows PowerShell 5.1
and PowerShell 7.

.EXAMPLE
$sp = Get-Credential -UserName $appId -Message 'Onboarding service principal secret'
./Connect-Fleet.ps1 -CsvPath servers.csv -ServicePrincipalCredential $sp -TenantId $tenant -SubscriptionId $sub -ResourceGroupName Servers -Location westeurope
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
    [System.Management.Automation.PSCredential]$RemotingCredential,

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
    $targetGroup = $Matches[1]
    $targetLocation = $Matches[2]
    $sessionArgs = @{ ComputerName = @($group.Group.ComputerName); ErrorAction = 'SilentlyContinue'; ErrorVariable = 'unreachable' }
    if ($RemotingCredential) {
        $sessionArgs['Credential'] = $RemotingCredential
    }
    $sessions = @(New-PSSession @sessionArgs)
    foreach ($failure in $unreachable) {
        $report.Add([pscustomobject]@{ ComputerName = [string]$failure.TargetObject; Status = 'Unreachable'; ResourceId = $null; Error = $failure.Exception.Message })
    }
    if ($sessions.Count -eq 0) {
        continue
    }
    try {
        $connect = @{
            Session                    = $sessions
            ThrottleLimit              = $ThrottleLimit
            ServicePrincipalCredential = $ServicePrincipalCredential
            TenantId                   = $TenantId
            SubscriptionId             = $SubscriptionId
            ResourceGroupName          = $targetGroup
            Location                   = $targetLocation
            WhatIf                     = [bool]$WhatIfPreference
            Confirm                    = $false
        }
        foreach ($result in Connect-AzcmAgent @connect) {
            $report.Add([pscustomobject]@{ ComputerName = $result.PSComputerName; Status = $result.Status; ResourceId = $result.ResourceId; Error = $result.Error })
        }
    } finally {
        Remove-PSSession -Session $sessions
    }
}

$report | Export-Csv -LiteralPath $ReportPath -NoTypeInformation
$report | Group-Object -Property Status | Select-Object -Property 'Name', 'Count' | Format-Table -AutoSize | Out-Host
$report
