function Invoke-AzcmNative {
    # The one place that runs azcm. Arguments go as an array (no command line is built from
    # strings), a secret goes on stdin only, stderr events are replayed live, and the JSON
    # envelope becomes the result or a terminating ErrorRecord raised for the calling cmdlet.
    # With -FailureResultKey, a failure whose details carry that key (check's report) returns
    # that value instead, the ErrorRecord attached as AzcmErrorRecord for the cmdlet to write.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory = $true)]
        [System.Management.Automation.PSCmdlet]$Cmdlet,

        [Parameter(Mandatory = $true)]
        [string[]]$Command,

        [Parameter(Mandatory = $false)]
        [AllowEmptyCollection()]
        [string[]]$ArgumentList = @(),

        [Parameter(Mandatory = $false)]
        [System.Security.SecureString]$StdinSecret,

        [Parameter(Mandatory = $false)]
        [object]$TargetObject,

        [Parameter(Mandatory = $false)]
        [string]$FailureResultKey
    )

    try {
        $binary = Resolve-AzcmBinary
    } catch {
        $remediation = 'Install the AzcmAgent module with its binaries, or set AZCM_BINARY to the path of azcm.'
        if ($_.Exception.Data.Contains('AzcmRemediation')) {
            $remediation = [string]$_.Exception.Data['AzcmRemediation']
        }
        $info = [pscustomobject]@{
            code        = 'AZCM0001'
            message     = $_.Exception.Message
            remediation = $remediation
            details     = $null
        }
        $Cmdlet.ThrowTerminatingError((New-AzcmErrorRecord -ErrorInfo $info -TargetObject $TargetObject -FromModule))
    }

    # The global flags first: a cmdlet's positional values follow a `--`, after which azcm takes
    # every word as a value, never as a flag.
    $nativeArgs = New-Object -TypeName 'System.Collections.Generic.List[string]'
    $nativeArgs.Add('--json')
    $nativeArgs.Add('--log-stderr')
    if ($VerbosePreference -ne [System.Management.Automation.ActionPreference]::SilentlyContinue) {
        $nativeArgs.Add('--verbose')
    }
    foreach ($word in $Command) {
        $nativeArgs.Add($word)
    }
    foreach ($word in $ArgumentList) {
        $nativeArgs.Add($word)
    }
    # Quoted where Legacy argument passing would let a value split into other words, even flags.
    $argArray = @(ConvertTo-AzcmNativeArgument -Argument $nativeArgs.ToArray())
    Write-Debug -Message ('azcm {0}' -f ($Command -join ' '))

    $progressId = 4242
    $stdoutLines = New-Object -TypeName 'System.Collections.Generic.List[string]'
    $utf8 = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false
    $savedConsoleEncoding = Enter-AzcmUtf8Console
    $OutputEncoding = $utf8
    $ErrorActionPreference = 'Continue'
    $PSNativeCommandUseErrorActionPreference = $false
    $exitCode = -1
    try {
        $route = {
            if ($_ -is [System.Management.Automation.ErrorRecord]) {
                Write-AzcmNativeEvent -Line ($_.ToString()) -ProgressId $progressId
            } else {
                $stdoutLines.Add([string]$_)
            }
        }
        if ($PSBoundParameters.ContainsKey('StdinSecret')) {
            ConvertFrom-AzcmSecureString -SecureString $StdinSecret | & $binary @argArray 2>&1 | ForEach-Object -Process $route
        } else {
            & $binary @argArray 2>&1 | ForEach-Object -Process $route
        }
        $exitCode = $LASTEXITCODE
    } finally {
        Exit-AzcmUtf8Console -Saved $savedConsoleEncoding
        Write-Progress -Id $progressId -Activity 'azcm' -Completed
    }

    $text = $stdoutLines -join "`n"
    $envelope = $null
    try {
        $envelope = $text | ConvertFrom-Json -ErrorAction Stop
    } catch {
        $envelope = $null
    }
    if ($null -eq $envelope -or $null -eq $envelope.ok) {
        $info = [pscustomobject]@{
            code        = 'AZCM0001'
            message     = ('azcm exited with code {0} without a JSON result: {1}' -f $exitCode, $text)
            remediation = 'Run the same azcm command by hand with --verbose to see what happened.'
            details     = $null
        }
        $Cmdlet.ThrowTerminatingError((New-AzcmErrorRecord -ErrorInfo $info -TargetObject $TargetObject))
    }
    if (-not $envelope.ok) {
        $record = New-AzcmErrorRecord -ErrorInfo $envelope.error -TargetObject $TargetObject
        if ($FailureResultKey -and $null -ne $envelope.error.details) {
            $carried = $envelope.error.details.PSObject.Properties[$FailureResultKey]
            if ($null -ne $carried) {
                $partial = $carried.Value
                Add-Member -InputObject $partial -NotePropertyName 'AzcmErrorRecord' -NotePropertyValue $record
                return $partial
            }
        }
        $Cmdlet.ThrowTerminatingError($record)
    }
    $envelope.result
}
