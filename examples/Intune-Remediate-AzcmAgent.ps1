<#
.SYNOPSIS
Intune remediation, remediation half: connect this machine to Azure Arc.

.DESCRIPTION
Runs as SYSTEM under Windows PowerShell 5.1, with azcm's MSI installed (README, "Install"). The service principal's secret comes from a file
readable only by SYSTEM and Administrators (deploy it with a Win32 app), never from this script.
Re-running is safe: connecting a machine that is already connected changes nothing.
Logs a transcript into the agent's log folder (where Get-AzcmAgent says the agent logs, so
Export-AzcmLog collects it). Exit codes: 0 connected (or already was), 1 failed (Intune reports
the output's last line).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $false)]
    [string]$TenantId = '00000000-0000-0000-0000-000000000000',

    [Parameter(Mandatory = $false)]
    [string]$SubscriptionId = '00000000-0000-0000-0000-000000000000',

    [Parameter(Mandatory = $false)]
    [string]$ResourceGroupName = 'HybridServers',

    [Parameter(Mandatory = $false)]
    [string]$Location = 'westeurope',

    [Parameter(Mandatory = $false)]
    [string]$Cloud = 'AzureCloud',

    [Parameter(Mandatory = $false)]
    [string]$ServicePrincipalId = '00000000-0000-0000-0000-000000000000',

    [Parameter(Mandatory = $false)]
    [string]$SecretPath = (Join-Path -Path ([System.Environment]::GetFolderPath('CommonApplicationData')) -ChildPath 'AzcmAgent\onboarding-secret.txt')
)

$ErrorActionPreference = 'Stop'
Import-Module -Name AzcmAgent
$logDir = Split-Path -Path (Get-AzcmAgent -Property 'agentLogfile' -WarningAction SilentlyContinue).Value -Parent
New-Item -ItemType Directory -Path $logDir -Force | Out-Null
Start-Transcript -Path (Join-Path -Path $logDir -ChildPath ('intune-{0:yyyyMMdd-HHmmss}.log' -f (Get-Date))) | Out-Null
$exitCode = 1
try {
    $secret = Get-Content -LiteralPath $SecretPath -Raw | ConvertTo-SecureString -AsPlainText -Force
    $credential = New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList $ServicePrincipalId, $secret
    $result = Connect-AzcmAgent -ServicePrincipalCredential $credential -TenantId $TenantId -SubscriptionId $SubscriptionId -ResourceGroupName $ResourceGroupName -Location $Location -Cloud $Cloud -Tag @{ ManagedBy = 'Intune' } -Confirm:$false
    Write-Output ('{0}: {1}' -f $result.Status, $result.ResourceId)
    $exitCode = 0
} catch {
    Write-Output ('Failed ({0}): {1}' -f $_.FullyQualifiedErrorId, $_.Exception.Message)
    if ($_.ErrorDetails -and $_.ErrorDetails.RecommendedAction) {
        Write-Output ('Remediation: {0}' -f $_.ErrorDetails.RecommendedAction)
    }
} finally {
    Stop-Transcript | Out-Null
}
exit $exitCode
