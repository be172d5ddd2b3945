function New-AzcmErrorRecord {
    # Turns the error object of azcm's JSON envelope into an ErrorRecord whose ErrorId is the
    # AZCM code, with a category that fits it and the remediation as RecommendedAction.
    [CmdletBinding()]
    [OutputType([System.Management.Automation.ErrorRecord])]
    param(
        [Parameter(Mandatory = $true)]
        [object]$ErrorInfo,

        [Parameter(Mandatory = $false)]
        [object]$TargetObject
    )

    $code = [string]$ErrorInfo.code
    $category = switch ($code) {
        'AZCM0011' { [System.Management.Automation.ErrorCategory]::OperationStopped }
        'AZCM0012' { [System.Management.Automation.ErrorCategory]::AuthenticationError }
        'AZCM0016' { [System.Management.Automation.ErrorCategory]::InvalidArgument }
        'AZCM0018' { [System.Management.Automation.ErrorCategory]::PermissionDenied }
        'AZCM0019' { [System.Management.Automation.ErrorCategory]::InvalidArgument }
        'AZCM0020' { [System.Management.Automation.ErrorCategory]::InvalidArgument }
        'AZCM0023' { [System.Management.Automation.ErrorCategory]::InvalidArgument }
        'AZCM0026' { [System.Management.Automation.ErrorCategory]::ConnectionError }
        'AZCM0027' { [System.Management.Automation.ErrorCategory]::InvalidOperation }
        'AZCM0041' { [System.Management.Automation.ErrorCategory]::AuthenticationError }
        'AZCM0042' { [System.Management.Automation.ErrorCategory]::InvalidResult }
        'AZCM0043' { [System.Management.Automation.ErrorCategory]::InvalidResult }
        'AZCM0044' { [System.Management.Automation.ErrorCategory]::ResourceExists }
        'AZCM0062' { [System.Management.Automation.ErrorCategory]::InvalidResult }
        'AZCM0063' { [System.Management.Automation.ErrorCategory]::InvalidResult }
        'AZCM0067' { [System.Management.Automation.ErrorCategory]::InvalidOperation }
        'AZCM0068' { [System.Management.Automation.ErrorCategory]::ObjectNotFound }
        'AZCM0069' { [System.Management.Automation.ErrorCategory]::WriteError }
        'AZCM0070' { [System.Management.Automation.ErrorCategory]::ReadError }
        'AZCM0101' { [System.Management.Automation.ErrorCategory]::ParserError }
        'AZCM0102' { [System.Management.Automation.ErrorCategory]::ObjectNotFound }
        'AZCM0103' { [System.Management.Automation.ErrorCategory]::SecurityError }
        'AZCM0104' { [System.Management.Automation.ErrorCategory]::WriteError }
        default { [System.Management.Automation.ErrorCategory]::NotSpecified }
    }

    $message = '{0}: {1}' -f $code, $ErrorInfo.message
    $exception = New-Object -TypeName System.Exception -ArgumentList $message
    $exception.Data['AzcmCode'] = $code
    $exception.Data['AzcmDetails'] = $ErrorInfo.details
    $record = New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList @($exception, $code, $category, $TargetObject)
    $record.ErrorDetails = New-Object -TypeName System.Management.Automation.ErrorDetails -ArgumentList $message
    $record.ErrorDetails.RecommendedAction = [string]$ErrorInfo.remediation
    $record
}
