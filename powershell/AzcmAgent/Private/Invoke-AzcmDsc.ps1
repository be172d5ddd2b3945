function Invoke-AzcmDsc {
    # Runs Microsoft's dsc (v3) on a configuration document for Test-/Set-AzcmDesiredState and
    # returns one row per resource. dsc finds azcm's resources through PATH: the folder of the
    # azcm this module runs (its manifests lie beside it) goes first on PATH for dsc's process.
    # The document goes to dsc as an owner-only temporary file; the parameters, secrets
    # included, go on stdin only (--parameters-file -). A failed dsc run is a terminating error
    # whose ErrorId is the AZCM code dsc's error names, when it names one.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory = $true)]
        [System.Management.Automation.PSCmdlet]$Cmdlet,

        [Parameter(Mandatory = $true)]
        [ValidateSet('test', 'set')]
        [string]$Operation,

        [Parameter(Mandatory = $true)]
        [string]$Document,

        [Parameter(Mandatory = $false)]
        [hashtable]$Parameter = @{},

        [Parameter(Mandatory = $false)]
        [switch]$WhatIfOnly
    )

    $fail = {
        param([string]$Code, [string]$Message, [string]$Remediation)
        $info = [pscustomobject]@{ code = $Code; message = $Message; remediation = $Remediation; details = $null }
        $Cmdlet.ThrowTerminatingError((New-AzcmErrorRecord -ErrorInfo $info -TargetObject $Document -FromModule:($Code -eq 'AZCM0001')))
    }

    $dsc = Get-Command -Name 'dsc' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($null -eq $dsc) {
        & $fail 'AZCM0001' 'Microsoft DSC v3 (dsc) is not on PATH.' 'Install Microsoft DSC v3 (https://aka.ms/dsc) and make sure dsc is on PATH.'
    }
    $azcmFolder = Split-Path -Path (Resolve-AzcmBinary) -Parent

    # Parameters as dsc reads them; a SecureString is revealed only into this text.
    $values = [ordered]@{}
    foreach ($key in $Parameter.Keys) {
        $value = $Parameter[$key]
        if ($value -is [System.Security.SecureString]) {
            $value = ConvertFrom-AzcmSecureString -SecureString $value
        } elseif ($value -is [System.Management.Automation.PSCredential]) {
            $value = $value.GetNetworkCredential().Password
        }
        $values[[string]$key] = $value
    }
    $parametersJson = ConvertTo-Json -InputObject @{ parameters = $values } -Depth 10 -Compress

    $documentFile = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), ('azcm-{0}.dsc.yaml' -f [guid]::NewGuid()))
    # dsc refuses parameters for a document that declares none: only when there are some.
    $arguments = @('--trace-format', 'json', 'config')
    if ($values.Count -gt 0) {
        $arguments += @('--parameters-file', '-')
    }
    $arguments += @($Operation, '--file', $documentFile, '--output-format', 'json')
    if ($WhatIfOnly) {
        $arguments += '--what-if'
    }
    $argArray = @(ConvertTo-AzcmNativeArgument -Argument $arguments)
    $savedPath = $env:PATH
    $stdout = New-Object -TypeName 'System.Collections.Generic.List[string]'
    $errors = New-Object -TypeName 'System.Collections.Generic.List[string]'
    $utf8 = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false
    $savedConsoleEncoding = Enter-AzcmUtf8Console
    $OutputEncoding = $utf8
    $ErrorActionPreference = 'Continue'
    $PSNativeCommandUseErrorActionPreference = $false
    $exitCode = -1
    try {
        # Created new, for this user only, then filled: nobody else reads or swaps it.
        $stream = New-Object -TypeName System.IO.FileStream -ArgumentList @($documentFile, [System.IO.FileMode]::CreateNew, [System.IO.FileAccess]::Write, [System.IO.FileShare]::None)
        try {
            # The temp folder is shared on Unix: owner-only before a byte is written (Windows'
            # temp folder is the user's own).
            if ([System.Environment]::OSVersion.Platform -ne [System.PlatformID]::Win32NT) {
                [System.IO.File]::SetUnixFileMode($documentFile, [System.IO.UnixFileMode]'UserRead, UserWrite')
            }
            $bytes = $utf8.GetBytes($Document)
            $stream.Write($bytes, 0, $bytes.Length)
        } finally {
            $stream.Dispose()
        }
        $env:PATH = $azcmFolder + [System.IO.Path]::PathSeparator + $savedPath
        Write-Debug -Message ('dsc {0}' -f ($arguments -join ' '))
        $stdin = ''
        if ($values.Count -gt 0) {
            $stdin = $parametersJson
        }
        $stdin | & $dsc.Source @argArray 2>&1 | ForEach-Object -Process {
            if ($_ -is [System.Management.Automation.ErrorRecord]) {
                $line = $_.ToString()
                $trace = $null
                try {
                    $trace = $line | ConvertFrom-Json -ErrorAction Stop
                } catch {
                    $trace = $null
                }
                if ($null -ne $trace -and $null -ne $trace.level) {
                    $message = [string]$trace.fields.message
                    switch ([string]$trace.level) {
                        'ERROR' { $errors.Add($message) }
                        'WARN' { Write-Warning -Message $message }
                        'INFO' { Write-Verbose -Message $message }
                        default { Write-Debug -Message $message }
                    }
                } elseif ($line) {
                    $errors.Add($line)
                }
            } else {
                $stdout.Add([string]$_)
            }
        }
        $exitCode = $LASTEXITCODE
    } finally {
        Exit-AzcmUtf8Console -Saved $savedConsoleEncoding
        $env:PATH = $savedPath
        Remove-Item -LiteralPath $documentFile -Force -ErrorAction SilentlyContinue -WhatIf:$false -Confirm:$false
    }

    $result = $null
    try {
        $result = ($stdout -join "`n") | ConvertFrom-Json -ErrorAction Stop
    } catch {
        $result = $null
    }
    if ($exitCode -ne 0 -or $null -eq $result) {
        $message = ($errors | Select-Object -Unique) -join ' '
        if (-not $message) {
            $message = 'dsc exited with code {0} and no result.' -f $exitCode
        }
        # dsc's own exit codes: 2 a resource failed, 1 and 4 bad arguments or input (the
        # document, its parameters), 7 a resource it cannot find.
        $code = 'AZCM0001'
        if (@(1, 4, 7) -contains $exitCode) {
            $code = 'AZCM0023'
        }
        if ($message -match '\b(AZCM[0-9]{4})\b') {
            $code = $Matches[1]
        }
        & $fail $code ('dsc config {0} failed (exit {1}): {2}' -f $Operation, $exitCode, $message) 'Read the message: it names the resource and, for azcm resources, the AZCM code; run the same dsc config command by hand with -l debug to see more.'
    }
    foreach ($resource in @($result.results)) {
        $outcome = $resource.result
        $row = [ordered]@{
            PSTypeName          = 'AzcmAgent.DesiredState'
            MachineName         = [System.Environment]::MachineName
            Resource            = [string]$resource.name
            Type                = [string]$resource.type
            Status              = $null
            InDesiredState      = $null
            DifferingProperties = @()
            ChangedProperties   = @()
            Error               = $null
        }
        if ($Operation -eq 'test') {
            $row.InDesiredState = [bool]$outcome.inDesiredState
            $row.DifferingProperties = @($outcome.differingProperties | Where-Object { $_ })
            $row.Status = 'Drifted'
            if ($row.InDesiredState) {
                $row.Status = 'InDesiredState'
            }
        } else {
            $row.ChangedProperties = @($outcome.changedProperties | Where-Object { $_ })
            $row.DifferingProperties = $row.ChangedProperties
            $row.InDesiredState = -not $WhatIfOnly -or $row.ChangedProperties.Count -eq 0
            $row.Status = 'InDesiredState'
            if ($row.ChangedProperties.Count -gt 0) {
                $row.Status = 'Converged'
                if ($WhatIfOnly) {
                    $row.Status = 'WouldChange'
                }
            }
        }
        [pscustomobject]$row
    }
}
