<#
.SYNOPSIS
Intune remediation, detection half: is this machine connected to Azure Arc?

.DESCRIPTION
Asks the AzcmAgent module (Get-AzcmAgent: the agent's own configuration and its local HIMDS).
Exit 0 (compliant) when the machine has an Azure Arc resource, exit 1 (run the remediation)
otherwise, or when the check itself fails. Runs as SYSTEM under Windows PowerShell 5.1; needs
the AzcmAgent module installed for all users: deploy azcm's MSI first (README, "Install").
#>
[CmdletBinding()]
param()

$ErrorActionPreference = 'Stop'
try {
    Import-Module -Name AzcmAgent
    $agent = Get-AzcmAgent -WarningAction SilentlyContinue
    if ($agent.ResourceId) {
        Write-Output ('Connected: {0} ({1})' -f $agent.ResourceId, $agent.Status)
        exit 0
    }
    Write-Output 'Not connected to Azure Arc'
    exit 1
} catch {
    Write-Output ('Detection failed ({0}): {1}' -f $_.FullyQualifiedErrorId, $_.Exception.Message)
    exit 1
}
