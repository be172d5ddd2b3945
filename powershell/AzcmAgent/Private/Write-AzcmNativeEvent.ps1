function Write-AzcmNativeEvent {
    # Replays one stderr line of azcm (a JSON event with --log-stderr --json) as the matching
    # PowerShell stream. Lines that are not events are passed on as verbose text.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [string]$Line,

        [Parameter(Mandatory = $true)]
        [int]$ProgressId
    )

    if ([string]::IsNullOrWhiteSpace($Line)) {
        return
    }
    $azcmEvent = $null
    try {
        $azcmEvent = $Line | ConvertFrom-Json -ErrorAction Stop
    } catch {
        Write-Verbose -Message $Line
        return
    }
    switch ([string]$azcmEvent.level) {
        'verbose' {
            Write-Verbose -Message ([string]$azcmEvent.message)
        }
        'warning' {
            Write-Warning -Message ([string]$azcmEvent.message)
        }
        'information' {
            # A prompt the user must act on (device code sign-in): shown whatever the preference.
            Write-Information -MessageData ([string]$azcmEvent.message) -Tags 'AzcmAgent.Prompt' -InformationAction Continue
        }
        'progress' {
            $percent = -1
            if ($null -ne $azcmEvent.progress.percent) {
                $percent = [int]$azcmEvent.progress.percent
            }
            $status = [string]$azcmEvent.progress.status
            if ([string]::IsNullOrEmpty($status)) {
                $status = 'Working'
            }
            # azcm says a running step again about once a second: drawing it again is also
            # what makes the console show it (PowerShell skips records that come in a burst).
            if ($null -ne $azcmEvent.progress.PSObject.Properties['seconds'] -and $null -ne $azcmEvent.progress.seconds) {
                $status = '{0} ({1} s)' -f $status, [int64]$azcmEvent.progress.seconds
            }
            Write-Progress -Id $ProgressId -Activity ([string]$azcmEvent.progress.activity) -Status $status -PercentComplete $percent
        }
        default {
            Write-Verbose -Message $Line
        }
    }
}
