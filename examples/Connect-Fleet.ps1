<#
.SYNOPSIS
Onboard the servers listed in a CSV file to Azure Arc over PowerShell remoting, and retry the
ones that failed from the report it wrote.

.DESCRIPTION
The CSV names each server in a ComputerName column (WinRM remoting) or a HostName column (SSH
remoting, PowerShell 7: with -UserName, -KeyFilePath and -SshOptions), and optionally
ResourceGroupName (or ResourceGroup), Location, Name (the resource name) and SubscriptionId
columns that override the defaults per server. All servers are connected in one fan-out,
-ThrottleLimit at a time, whatever their resource group or location.

The report (-ReportPath) has one row per server in the order of the CSV, unreachable and failed
ones too: HostName or ComputerName, MachineName, Status, what the server was asked
(SubscriptionId, ResourceGroupName, Location, Name), ResourceId, ErrorCode and Error. It is
itself an input: -RetryFrom report.csv connects again only the servers whose Status is not
Connected or AlreadyConnected, with what each was asked (edit a row to change it), and writes a
complete report again, the retried rows updated. Its rows also pipe straight into
Connect-AzcmAgent (Import-Csv report.csv | Where-Object Status -ne Connected | Connect-AzcmAgent ...).

The AzcmAgent module must be installed on the servers: azcm's MSI, .deb or .rpm, or
Install-PSResource AzcmAgent (README, "Install"). Runs on Windows PowerShell 5.1 (WinRM) and PowerShell 7.

.EXAMPLE
$sp = Get-Credential -UserName $appId -Message 'Onboarding service principal secret'
./Connect-Fleet.ps1 -CsvPath servers.csv -ServicePrincipalCredential $sp -TenantId $tenant -SubscriptionId $sub -ResourceGroupName Servers -Location westeurope -ReportPath report.csv

Connects every server of servers.csv over WinRM, 64 at a time, and writes report.csv.

.EXAMPLE
./Connect-Fleet.ps1 -RetryFrom report.csv -ServicePrincipalCredential $sp -TenantId $tenant -ReportPath report-retry.csv

Connects again only the servers report.csv says did not connect, each with what it was asked.

.EXAMPLE
./Connect-Fleet.ps1 -CsvPath linux.csv -UserName root -KeyFilePath ~/.ssh/arc_onboarding -ServicePrincipalCredential $sp -TenantId $tenant -SubscriptionId $sub -ResourceGroupName Linux -Location westeurope -ThrottleLimit 16

Connects the Linux servers of linux.csv (a HostName column) over SSH with key authentication.
#>
[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium', DefaultParameterSetName = 'FromCsv')]
param(
    [Parameter(Mandatory = $true, ParameterSetName = 'FromCsv')]
    [string]$CsvPath,

    [Parameter(Mandatory = $true, ParameterSetName = 'Retry')]
    [string]$RetryFrom,

    [Parameter(Mandatory = $true)]
    [System.Management.Automation.PSCredential]$ServicePrincipalCredential,

    [Parameter(Mandatory = $true)]
    [string]$TenantId,

    [Parameter(Mandatory = $true, ParameterSetName = 'FromCsv')]
    [string]$SubscriptionId,

    [Parameter(Mandatory = $true, ParameterSetName = 'FromCsv')]
    [string]$ResourceGroupName,

    [Parameter(Mandatory = $true, ParameterSetName = 'FromCsv')]
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

function Get-CellValue {
    # A CSV cell, or $null when the column is missing or empty.
    param(
        [Parameter(Mandatory = $true)]
        [object]$Row,

        [Parameter(Mandatory = $true)]
        [string[]]$Column
    )

    foreach ($name in $Column) {
        $property = $Row.PSObject.Properties[$name]
        if ($null -ne $property -and -not [string]::IsNullOrWhiteSpace([string]$property.Value)) {
            return ([string]$property.Value).Trim()
        }
    }
    $null
}

# Every server as a report row, in the CSV's order: what it is asked, and (retry) its last result.
$columns = @('HostName', 'ComputerName', 'MachineName', 'Status', 'SubscriptionId', 'ResourceGroupName', 'Location', 'Name', 'ResourceId', 'ErrorCode', 'Error')
$report = New-Object -TypeName 'System.Collections.Generic.List[object]'
$source = $CsvPath
if ($PSCmdlet.ParameterSetName -eq 'Retry') {
    $source = $RetryFrom
}
foreach ($row in @(Import-Csv -LiteralPath $source)) {
    $entry = [ordered]@{}
    foreach ($column in $columns) {
        $entry[$column] = Get-CellValue -Row $row -Column $column
    }
    if ($PSCmdlet.ParameterSetName -eq 'FromCsv') {
        $entry['ResourceGroupName'] = Get-CellValue -Row $row -Column @('ResourceGroupName', 'ResourceGroup')
        foreach ($default in @(@('SubscriptionId', $SubscriptionId), @('ResourceGroupName', $ResourceGroupName), @('Location', $Location))) {
            if (-not $entry[$default[0]]) {
                $entry[$default[0]] = $default[1]
            }
        }
    }
    if (-not $entry['HostName'] -and -not $entry['ComputerName']) {
        throw ('{0}: a row has neither a HostName nor a ComputerName' -f $source)
    }
    $report.Add([pscustomobject]$entry)
}

# The servers to connect now: all of them, or on retry those that did not connect.
$done = @('Connected', 'AlreadyConnected')
$pending = @($report | Where-Object { $PSCmdlet.ParameterSetName -eq 'FromCsv' -or $done -notcontains $_.Status })
$remoting = @{}
if ($RemotingCredential) {
    $remoting['Credential'] = $RemotingCredential
}
foreach ($name in @('UserName', 'KeyFilePath')) {
    if ($PSBoundParameters.ContainsKey($name)) {
        $remoting[$name] = $PSBoundParameters[$name]
    }
}
if ($SshOptions) {
    $remoting['Options'] = $SshOptions
}
$results = @()
if ($pending.Count -gt 0) {
    # One fan-out: each row binds HostName or ComputerName and its own target by property name.
    $results = @($pending | Connect-AzcmAgent -ServicePrincipalCredential $ServicePrincipalCredential -TenantId $TenantId -Cloud $Cloud -ThrottleLimit $ThrottleLimit -WhatIf:([bool]$WhatIfPreference) -Confirm:$false @remoting)
}

# Each result replaces its server's row; the order stays the CSV's.
$byServer = @{}
foreach ($result in $results) {
    $key = 'HostName:{0}' -f $result.HostName
    if ($result.ComputerName) {
        $key = 'ComputerName:{0}' -f $result.ComputerName
    }
    $byServer[$key.ToLowerInvariant()] = $result
}
$final = foreach ($entry in $report) {
    $key = 'HostName:{0}' -f $entry.HostName
    if ($entry.ComputerName) {
        $key = 'ComputerName:{0}' -f $entry.ComputerName
    }
    $result = $byServer[$key.ToLowerInvariant()]
    if ($null -ne $result) {
        $updated = [ordered]@{}
        foreach ($column in $columns) {
            $updated[$column] = $result.$column
        }
        # What the server was asked stays what the CSV said (a retry keeps its targets).
        foreach ($column in @('SubscriptionId', 'ResourceGroupName', 'Location', 'Name')) {
            $updated[$column] = $entry.$column
        }
        [pscustomobject]$updated
    } elseif (($pending | Where-Object { [object]::ReferenceEquals($_, $entry) }) -and -not $WhatIfPreference) {
        $entry.Status = 'NotRun'
        $entry
    } else {
        $entry
    }
}

$final | Export-Csv -LiteralPath $ReportPath -NoTypeInformation
$final | Group-Object -Property Status | Select-Object -Property 'Name', 'Count' | Format-Table -AutoSize | Out-Host
$final
