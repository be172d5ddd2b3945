# Every AZCM code azcm emits: the ErrorCategory that fits it and what an admin does next, in
# PowerShell's terms (cmdlets and their parameters, not azcm's flags). tests/powershell_contract.rs
# checks that every code of src/error.rs is here.
$script:AzcmErrorCatalog = @{
    'AZCM0001' = @{ Category = 'NotSpecified'; Action = 'Run the cmdlet again with -Verbose and report the output, with Get-AzcmVersion, to the azcm maintainers.' }
    'AZCM0011' = @{ Category = 'OperationStopped'; Action = 'The operation was cancelled before it finished; run the cmdlet again.' }
    'AZCM0012' = @{ Category = 'AuthenticationError'; Action = 'Get a new access token (for example (Get-AzAccessToken -AsSecureString).Token) and pass it to -AccessToken.' }
    'AZCM0016' = @{ Category = 'InvalidArgument'; Action = 'Pass the parameter the message names; Get-Help <cmdlet> -Full lists each parameter set.' }
    'AZCM0018' = @{ Category = 'PermissionDenied'; Action = 'Run PowerShell as Administrator (root on Linux), or set $env:AZCM_ROOT to a folder you own for a private agent state.' }
    'AZCM0019' = @{ Category = 'InvalidArgument'; Action = 'azcm could not use the configuration file it was given: check that the file exists and holds a JSON or YAML map of flag names to values.' }
    'AZCM0020' = @{ Category = 'InvalidArgument'; Action = 'Pass one of the clouds regions to -Location, for example westeurope (press Tab after -Location to list them).' }
    'AZCM0023' = @{ Category = 'InvalidArgument'; Action = 'Correct the value the message names; Get-Help <cmdlet> -Parameter <name> gives its rule.' }
    'AZCM0026' = @{ Category = 'ConnectionError'; Action = 'Run Test-AzcmConnectivity to see which endpoint fails at which stage; set a proxy with Set-AzcmConfig -Name proxy.url, or connect with -IgnoreNetworkCheck to continue anyway.' }
    'AZCM0027' = @{ Category = 'InvalidOperation'; Action = 'Change the conflicting setting the message names first, for example Set-AzcmConfig -Name config.mode -Value full.' }
    'AZCM0041' = @{ Category = 'AuthenticationError'; Action = 'Check the service principals id and its secret or certificate (and expiry), and that it belongs to the tenant given to -TenantId.' }
    'AZCM0042' = @{ Category = 'InvalidResult'; Action = 'Read the ARM error in the message: the principal needs the Azure Connected Machine Onboarding role on the resource group. Running the same Connect-AzcmAgent again converges.' }
    'AZCM0043' = @{ Category = 'InvalidResult'; Action = 'Check the principal may delete the resource; if the resource no longer exists, run Disconnect-AzcmAgent -ForceLocalOnly.' }
    'AZCM0044' = @{ Category = 'ResourceExists'; Action = 'Pass another -Name, or delete the existing Azure Arc-enabled server resource first.' }
    'AZCM0062' = @{ Category = 'InvalidResult'; Action = 'Read the message; once its cause is fixed, running the same Connect-AzcmAgent again converges.' }
    'AZCM0063' = @{ Category = 'InvalidResult'; Action = 'Read the message; if it persists, delete the resource in Azure and run Disconnect-AzcmAgent -ForceLocalOnly.' }
    'AZCM0067' = @{ Category = 'InvalidOperation'; Action = 'Run Disconnect-AzcmAgent first, or connect again with the same -SubscriptionId, -ResourceGroupName and -Name.' }
    'AZCM0068' = @{ Category = 'ObjectNotFound'; Action = 'Check -SubscriptionId (the subscription id, or its exact display name) and that the principal has access to that subscription.' }
    'AZCM0069' = @{ Category = 'WriteError'; Action = 'Check that this user may write the agents configuration folder (run as Administrator) and that no other process holds it, then try again.' }
    'AZCM0070' = @{ Category = 'ReadError'; Action = 'Check the file the message names: run as Administrator if access is denied; if it is corrupt, fix or delete it and set the values again with Set-AzcmConfig.' }
    'AZCM0101' = @{ Category = 'ParserError'; Action = 'The module and azcm do not agree on a command: compare Get-AzcmVersion with (Get-Module AzcmAgent).Version and reinstall the module.' }
    'AZCM0102' = @{ Category = 'ObjectNotFound'; Action = 'Pass -Name with letters, digits, hyphens and underscores, not ending in a hyphen or underscore.' }
    'AZCM0103' = @{ Category = 'SecurityError'; Action = 'Check that the agents Certs folder is writable (run as Administrator), then try again.' }
    'AZCM0104' = @{ Category = 'WriteError'; Action = 'Check that the folder of -Path exists, is writable and has free space, or pass another -Path.' }
}

function New-AzcmErrorRecord {
    # Turns the error object of azcm's JSON envelope into an ErrorRecord whose ErrorId is the
    # AZCM code, with the catalogue's category and next step as RecommendedAction; azcm's own
    # remediation (it may name the exact flag or file) is kept in the exception's Data.
    [CmdletBinding()]
    [OutputType([System.Management.Automation.ErrorRecord])]
    param(
        [Parameter(Mandatory = $true)]
        [object]$ErrorInfo,

        [Parameter(Mandatory = $false)]
        [object]$TargetObject,

        # The module's own failure (azcm missing or not executable): its remediation is the
        # next step, not the catalogue's.
        [Parameter(Mandatory = $false)]
        [switch]$FromModule
    )

    $code = [string]$ErrorInfo.code
    $category = [System.Management.Automation.ErrorCategory]::NotSpecified
    $action = [string]$ErrorInfo.remediation
    $entry = $script:AzcmErrorCatalog[$code]
    if ($null -ne $entry -and -not $FromModule) {
        $category = [System.Management.Automation.ErrorCategory]$entry.Category
        $action = $entry.Action
    }

    $message = '{0}: {1}' -f $code, $ErrorInfo.message
    $exception = New-Object -TypeName System.Exception -ArgumentList $message
    $exception.Data['AzcmCode'] = $code
    $exception.Data['AzcmDetails'] = $ErrorInfo.details
    $exception.Data['AzcmRemediation'] = [string]$ErrorInfo.remediation
    $record = New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList @($exception, $code, $category, $TargetObject)
    $record.ErrorDetails = New-Object -TypeName System.Management.Automation.ErrorDetails -ArgumentList $message
    $record.ErrorDetails.RecommendedAction = $action
    $record
}
