function Register-AzcmArgumentCompleter {
    # Tab completion where a ValidateSet cannot list the values: clouds (built in, and those of
    # AZCM_CLOUD_FILE), the regions of the chosen cloud (both from azcm), and the extensions
    # installed on this machine.
    [CmdletBinding()]
    param()

    $cloud = {
        param($commandName, $parameterName, $wordToComplete, $commandAst, $fakeBoundParameters)
        $known = @()
        try {
            $known = @(Get-AzcmKnownName -Kind Cloud -ErrorAction Stop)
        } catch {
            $known = @()
        }
        if ($known.Count -eq 0) {
            # azcm could not say (a broken cloud file, say): the built-in clouds still complete.
            $known = @('AzureCloud', 'AzureUSGovernment', 'AzureChinaCloud')
        }
        foreach ($name in $known) {
            if ($name -like ('{0}*' -f $wordToComplete)) {
                New-Object -TypeName System.Management.Automation.CompletionResult -ArgumentList $name, $name, 'ParameterValue', $name
            }
        }
    }
    $region = {
        param($commandName, $parameterName, $wordToComplete, $commandAst, $fakeBoundParameters)
        $regionCloud = [string]$fakeBoundParameters['Cloud']
        foreach ($name in @(Get-AzcmKnownName -Kind Region -Cloud $regionCloud -ErrorAction SilentlyContinue)) {
            if ($name -like ('{0}*' -f $wordToComplete)) {
                New-Object -TypeName System.Management.Automation.CompletionResult -ArgumentList $name, $name, 'ParameterValue', $name
            }
        }
    }
    $extension = {
        param($commandName, $parameterName, $wordToComplete, $commandAst, $fakeBoundParameters)
        foreach ($installed in @(Get-AzcmExtension -ErrorAction SilentlyContinue)) {
            $name = [string]$installed.Name
            if ($name -like ('{0}*' -f $wordToComplete)) {
                New-Object -TypeName System.Management.Automation.CompletionResult -ArgumentList $name, $name, 'ParameterValue', ('{0} {1} ({2})' -f $name, $installed.Version, $installed.State)
            }
        }
    }
    Register-ArgumentCompleter -CommandName 'Connect-AzcmAgent', 'Test-AzcmConnectivity' -ParameterName 'Cloud' -ScriptBlock $cloud
    Register-ArgumentCompleter -CommandName 'Connect-AzcmAgent', 'Test-AzcmConnectivity' -ParameterName 'Location' -ScriptBlock $region
    Register-ArgumentCompleter -CommandName 'Remove-AzcmExtension' -ParameterName 'Name' -ScriptBlock $extension
}
