function Remove-AzcmExtension {
    <#
    .SYNOPSIS
    Removes Azure Arc extensions from this machine (or many, with -Session).

    .DESCRIPTION
    Runs 'azcm extension remove': for each extension, the handler's uninstall command runs
    (stopped after -TimeoutSec), then its folder is deleted. The extension service must be
    stopped first. Asks for confirmation (ConfirmImpact High) unless -Confirm:$false; -WhatIf
    says what would be removed. Accepts AzcmAgent.Extension objects from Get-AzcmExtension.

    .EXAMPLE
    Remove-AzcmExtension -Name Microsoft.Azure.Monitor.AzureMonitorWindowsAgent

    .EXAMPLE
    Get-AzcmExtension | Where-Object State -EQ 'error' | Remove-AzcmExtension -Confirm:$false

    .EXAMPLE
    Remove-AzcmExtension -All -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High', DefaultParameterSetName = 'Name')]
    [OutputType('AzcmAgent.ExtensionRemoval')]
    param(
        [Parameter(Mandatory = $true, ParameterSetName = 'Name', Position = 0, ValueFromPipelineByPropertyName = $true)]
        [ValidateNotNullOrEmpty()]
        [string]$Name,

        [Parameter(Mandatory = $true, ParameterSetName = 'All')]
        [switch]$All,

        [Parameter(Mandatory = $false)]
        [Alias('Timeout')]
        [ValidateRange(1, 3600)]
        [int]$TimeoutSec = 300,

        [Parameter(Mandatory = $false)]
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
        $target = $Name
        if ($All) {
            $target = 'every installed extension'
        }
        $action = 'Remove the Azure Arc extension ({0})' -f $target
        if ($Session -or $ComputerName -or $HostName) {
            Invoke-AzcmFanOut -Cmdlet $PSCmdlet -Session $Session -ComputerName $ComputerName -Credential $Credential -Action $action -ThrottleLimit $ThrottleLimit
            return
        }
        if (-not $PSCmdlet.ShouldProcess([System.Environment]::MachineName, $action)) {
            return
        }
        $arguments = New-Object -TypeName 'System.Collections.Generic.List[string]'
        if ($All) {
            $arguments.Add('--all')
        } else {
            $arguments.Add('--name')
            $arguments.Add($Name)
        }
        $arguments.Add('--timeout')
        $arguments.Add([string]$TimeoutSec)
        $arguments.Add('--yes')
        $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('extension', 'remove') -ArgumentList $arguments.ToArray() -TargetObject $target
        foreach ($removal in $result.removed) {
            $uninstallError = $null
            if ($null -ne $removal.PSObject.Properties['uninstallError']) {
                $uninstallError = [string]$removal.uninstallError
            }
            $exitCode = $null
            if ($null -ne $removal.PSObject.Properties['uninstall']) {
                $exitCode = $removal.uninstall.exitCode
            }
            [pscustomobject]@{
                PSTypeName        = 'AzcmAgent.ExtensionRemoval'
                Name              = [string]$removal.name
                Version           = [string]$removal.version
                Removed           = [bool]$removal.removed
                UninstallExitCode = $exitCode
                UninstallError    = $uninstallError
                Path              = [string]$removal.path
            }
        }
    }
}
