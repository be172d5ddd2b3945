<#
.SYNOPSIS
Group Policy computer startup script: connect this machine to Azure Arc once, quietly.

.DESCRIPTION
Runs as SYSTEM at startup under Windows PowerShell 5.1, with azcm's MSI installed (Group Policy
software installation: README, "Install"). Settings come from a JSON file on a share
the computer accounts can read:
  { "tenantId": "...", "subscriptionId": "...", "resourceGroup": "...", "location": "...",
    "cloud": "AzureCloud", "servicePrincipalId": "...",
    "certificatePath": "\\\\server\\share\\arc-onboarding.pfx" }
A certificate (unencrypted PFX, readable only by the computer accounts that need it) is preferred
over a secret; "secretPath" (a file holding the secret, as readable as the certificate would be)
takes its place where a certificate cannot be used. A marker file beside the agent's log makes
later startups skip the work while the machine stays connected; deleting it, or a disconnect,
makes the next startup connect again. Exit codes: 0 done or nothing to do, 1 failed; details in
the transcript in the agent's log folder (Get-AzcmAgent says where; Export-AzcmLog collects it).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $false)]
    [string]$SettingsPath = '\\contoso.example\NETLOGON\AzureArc\settings.json'
)

$ErrorActionPreference = 'Stop'
Import-Module -Name AzcmAgent
$agent = Get-AzcmAgent -WarningAction SilentlyContinue
$logDir = Split-Path -Path $agent.AgentLogfile -Parent
$marker = Join-Path -Path $logDir -ChildPath 'gpo-connected.txt'
if ((Test-Path -LiteralPath $marker) -and $agent.ResourceId) {
    exit 0
}

New-Item -ItemType Directory -Path $logDir -Force | Out-Null
Start-Transcript -Path (Join-Path -Path $logDir -ChildPath ('gpo-{0:yyyyMMdd-HHmmss}.log' -f (Get-Date))) | Out-Null
$exitCode = 1
try {
    $settings = Get-Content -LiteralPath $SettingsPath -Raw | ConvertFrom-Json
    $connect = @{
        TenantId          = $settings.tenantId
        SubscriptionId    = $settings.subscriptionId
        ResourceGroupName = $settings.resourceGroup
        Location          = $settings.location
        Tag               = @{ ManagedBy = 'GroupPolicy' }
        Confirm           = $false
    }
    if ($settings.cloud) {
        $connect['Cloud'] = $settings.cloud
    }
    if ($settings.certificatePath) {
        $connect['ServicePrincipalId'] = $settings.servicePrincipalId
        $connect['ServicePrincipalCertificatePath'] = $settings.certificatePath
    } else {
        $secret = Get-Content -LiteralPath $settings.secretPath -Raw | ConvertTo-SecureString -AsPlainText -Force
        $connect['ServicePrincipalCredential'] = New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList $settings.servicePrincipalId, $secret
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
