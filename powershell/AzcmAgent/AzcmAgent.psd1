@{
    RootModule           = 'AzcmAgent.psm1'
    ModuleVersion        = '0.1.0'
    GUID                 = '6d3c9f0e-2b7a-4e51-9a63-0f4d8c2e7b15'
    Author               = 'The azcm authors'
    CompanyName          = 'azcm'
    Copyright            = '(c) 2026 The azcm authors. MIT License.'
    Description          = 'PowerShell cmdlets for the Azure Connected Machine (Azure Arc) agent, over the azcm binary and its JSON contract.'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Desktop', 'Core')
    FormatsToProcess     = @('AzcmAgent.Format.ps1xml')
    FunctionsToExport    = @(
        'Clear-AzcmConfig',
        'Connect-AzcmAgent',
        'Disconnect-AzcmAgent',
        'Export-AzcmLog',
        'Get-AzcmAgent',
        'Get-AzcmConfig',
        'Get-AzcmConfigInfo',
        'Get-AzcmExtension',
        'Get-AzcmLicense',
        'Get-AzcmVersion',
        'New-AzcmKeyPair',
        'Remove-AzcmExtension',
        'Set-AzcmConfig',
        'Set-AzcmDesiredState',
        'Test-AzcmConnectivity',
        'Test-AzcmDesiredState'
    )
    CmdletsToExport      = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('Azure', 'Arc', 'AzureArc', 'ConnectedMachine', 'azcmagent', 'Hybrid', 'Windows', 'Linux')
            LicenseUri = 'https://opensource.org/licenses/MIT'
        }
    }
}
