function Repair-AzcmExecutable {
    # A module installed from a NuGet package (PowerShell Gallery, Install-PSResource,
    # Save-PSResource) keeps no Unix mode bits: its bundled azcm arrives as -rw-r--r-- and
    # cannot run. This gives the binary its execute bits back (where its read bits are); when
    # this user may not change the file (a module installed by root), the error names the file
    # and the command that fixes it.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory = $true)]
        [string]$Path
    )

    if ([System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT) {
        return
    }
    function New-NotExecutableError {
        param(
            [Parameter(Mandatory = $true)]
            [string]$Why
        )
        $fix = "sudo chmod a+x '{0}'" -f $Path.Replace("'", "'\''")
        $exception = New-Object -TypeName System.InvalidOperationException -ArgumentList ('{0} is not executable (a module installed from a package loses Unix mode bits) and this user cannot change it: {1}' -f $Path, $Why)
        $exception.Data['AzcmRemediation'] = ('Make it executable once: {0}' -f $fix)
        $exception
    }
    $setter = [System.IO.File].GetMethod('SetUnixFileMode', [type[]]@([string], [System.IO.UnixFileMode]))
    if ($null -eq $setter) {
        # .NET before 7 (PowerShell before 7.4): test(1) and chmod(1).
        test -x $Path
        if ($LASTEXITCODE -ne 0) {
            chmod a+x -- $Path 2>$null
            if ($LASTEXITCODE -ne 0) {
                throw (New-NotExecutableError -Why 'chmod failed')
            }
        }
        return
    }
    $mode = [System.IO.File]::GetUnixFileMode($Path)
    $execute = [System.IO.UnixFileMode]'UserExecute, GroupExecute, OtherExecute'
    if (($mode -band $execute) -ne 0) {
        return
    }
    $wanted = $mode
    foreach ($pair in @(@('UserRead', 'UserExecute'), @('GroupRead', 'GroupExecute'), @('OtherRead', 'OtherExecute'))) {
        if (($mode -band [System.IO.UnixFileMode]$pair[0]) -ne 0) {
            $wanted = $wanted -bor [System.IO.UnixFileMode]$pair[1]
        }
    }
    try {
        [System.IO.File]::SetUnixFileMode($Path, $wanted)
    } catch {
        throw (New-NotExecutableError -Why $_.Exception.Message)
    }
    Write-Verbose -Message ('restored the execute bits of {0} (a package keeps no Unix mode bits)' -f $Path)
}
