<#
.SYNOPSIS
Intune remediation, detection half: is this machine connected to Azure Arc?

.DESCRIPTION
Exit 0 (compliant) when the agent configuration names a machine resource, exit 1 (run the
remediation) otherwise. Runs as SYSTEM under Windows PowerShell 5.1; needs the AzcmAgent module
installed for all users.
#>
[CmdletBinding()]
param()

$ErrorActionPreference = 'Stop'
try {
    Import-Module -Name AzcmAgent
    $agentConfig = Join-Path -Path $env:ProgramData -ChildPath 'AzureConnectedMachineAgent\Config\agentconfig.json'
    if (Test-Path -LiteralPath $agentConfig) {
        $config = Get-Content -LiteralPath $agentConfig -Raw | ConvertFrom-Json
        if ($config.ResourceId) {
            Write-Output ('Connected: {0}' -f $config.ResourceId)
            exit 0
        }
    }
    Write-Output 'Not connected to Azure Arc'
    exit 1
} catch {
    Write-Output ('Detection failed: {0}' -f $_.Exception.Message)
    exit 1
}
