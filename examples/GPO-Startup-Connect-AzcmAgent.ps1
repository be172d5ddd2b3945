<#
.SYNOPSIS
Group Policy computer startup script: connect this machine to Azure Arc once, quietly.

.DESCRIPTION
Runs as SYSTEM at startup under Windows PowerShell 5.1. Settings come from a JSON file on a share
the computer accounts can read:
  { "tenantId": "...", "subscriptionId": "...", "resourceGroup": "...", "location": "...",
    "servicePrincipalId": "...", "certificatePath": "\\\\server\\share\\arc-onboarding.pfx" }
A certificate (unencrypted PFX, readable only by the computer accounts that need it) is preferred
over a secret in a share. A marker file makes later startups skip the work; deleting it (or the
agent configuration) makes the next startup connect again. Exit codes: 0 done or nothing to do,
1 failed; details in the transcript under %ProgramData%\AzcmAgent\Logs.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $false)]
    [string]$SettingsPath = '\\contoso.example\NETLOGON\AzureArc\settings.json'
)

$ErrorActionPreference = 'Stop'
$stateDir = Join-Path -Path $env:ProgramData -ChildPath 'AzcmAgent'
$marker = Join-Path -Path $stateDir -ChildPath 'gpo-connected.txt'
$agentConfig = Join-Path -Path $env:ProgramData -ChildPath 'AzureConnectedMachineAgent\Config\agentconfig.json'
if ((Test-Path -LiteralPath $marker) -and (Test-Path -LiteralPath $agentConfig)) {
    exit 0
}

New-Item -ItemType Directory -Path (Join-Path -Path $stateDir -ChildPath 'Logs') -Force | Out-Null
Start-Transcript -Path (Join-Path -Path $stateDir -ChildPath ('Logs\gpo-{0:yyyyMMdd-HHmmss}.log' -f (Get-Date))) | Out-Null
$exitCode = 1
try {
    Import-Module -Name AzcmAgent
    $settings = Get-Content -LiteralPath $SettingsPath -Raw | ConvertFrom-Json
    $connect = @{
        TenantId                        = $settings.tenantId
        SubscriptionId                  = $settings.subscriptionId
        ResourceGroupName               = $settings.resourceGroup
        Location                        = $settings.location
        ServicePrincipalId              = $settings.servicePrincipalId
        ServicePrincipalCertificatePath = $settings.certificatePath
        Tag                             = @{ ManagedBy = 'GroupPolicy' }
        Confirm                         = $false
    }
    $result = Connect-AzcmAgent @connect
    Set-Content -LiteralPath $marker -Value ('{0} {1}' -f (Get-Date -Format o), $result.ResourceId)
    Write-Output ('{0}: {1}' -f $result.Status, $result.ResourceId)
    $exitCode = 0
} catch {
    Write-Output ('Failed ({0}): {1}' -f $_.FullyQualifiedErrorId, $_.Exception.Message)
} finally {
    Stop-Transcript | Out-Null
}
exit $exitCode
