# Machines for the SSH remoting tests: each is an sshd on its own loopback address, in its own
# UTS namespace (its own host name), with its own agent state (AZCM_ROOT), key authentication,
# and PowerShell as its `powershell` subsystem with the module on its module path. The client's
# known_hosts is pre-seeded, so StrictHostKeyChecking stays on.

function Test-TestSshPrerequisite {
    # Whether this machine can run the fleet: root (sshd on port 22, unshare), sshd and unshare.
    $missing = @()
    if ((& id -u) -ne '0') {
        $missing += 'root'
    }
    foreach ($tool in @('/usr/sbin/sshd', 'ssh', 'ssh-keygen', 'unshare')) {
        if (-not (Get-Command -Name $tool -ErrorAction SilentlyContinue)) {
            $missing += $tool
        }
    }
    $missing
}

function New-TestSshKey {
    # An ed25519 key pair without a passphrase at Path (and Path.pub). Its arguments go to
    # ssh-keygen as a list whichever mode the module is tested under: Legacy passing would drop
    # the empty passphrase.
    param(
        [Parameter(Mandatory = $true)]
        [string]$Path,

        [Parameter(Mandatory = $true)]
        [string]$Comment
    )

    $PSNativeCommandArgumentPassing = 'Standard'
    & ssh-keygen -q -t ed25519 -N '' -C $Comment -f $Path | Out-Null
    if ($LASTEXITCODE -ne 0) {
        throw ('ssh-keygen could not make {0}' -f $Path)
    }
}

function Start-TestSshMachine {
    # Starts one sshd per machine (@{ Address = '127.0.0.11'; Name = 'srv-01' }, optionally a Port
    # other than 22) and returns the fleet: what New-PSSession needs (-UserName, -KeyFilePath,
    # -Options) and what to stop.
    param(
        [Parameter(Mandatory = $true)]
        [object[]]$Machine,

        [Parameter(Mandatory = $true)]
        [string]$ModuleRoot
    )

    $dir = Join-Path -Path ([System.IO.Path]::GetTempPath()) -ChildPath ('azcm-fleet-{0}' -f [guid]::NewGuid())
    New-Item -ItemType Directory -Path $dir -Force | Out-Null
    $clientKey = Join-Path -Path $dir -ChildPath 'client_key'
    $hostKey = Join-Path -Path $dir -ChildPath 'host_key'
    New-TestSshKey -Path $clientKey -Comment 'azcm-test-client'
    New-TestSshKey -Path $hostKey -Comment 'azcm-test-host'
    New-Item -ItemType Directory -Path '/run/sshd' -Force | Out-Null

    # The remote PowerShell: the shared launcher (or pwsh on PATH), the module on its path.
    $launcher = Join-Path -Path $repoRoot -ChildPath '../shared/tools/pwsh'
    if (-not (Test-Path -LiteralPath $launcher)) {
        $launcher = (Get-Command -Name 'pwsh' -CommandType Application | Select-Object -First 1).Source
    }
    $launcher = (Resolve-Path -LiteralPath $launcher).ProviderPath
    $subsystem = Join-Path -Path $dir -ChildPath 'powershell-subsystem.sh'
    # Microsoft's dsc on each machine's PATH (../shared/tools), for the desired-state cmdlets.
    $tools = Join-Path -Path $repoRoot -ChildPath '../shared/tools'
    $pathLine = ''
    if (Test-Path -LiteralPath (Join-Path -Path $tools -ChildPath 'dsc')) {
        $pathLine = "export PATH='{0}':`$PATH`n" -f (Resolve-Path -LiteralPath $tools).ProviderPath
    }
    $script = "#!/bin/sh`nexport PSModulePath='{0}'`n{2}exec '{1}' -sshs -NoLogo -NoProfile`n" -f $ModuleRoot, $launcher, $pathLine
    [System.IO.File]::WriteAllText($subsystem, $script)
    & chmod 755 $subsystem

    # What each machine's azcm needs: the fake cloud's files and endpoints, the binary.
    $forwarded = @()
    foreach ($entry in [System.Environment]::GetEnvironmentVariables().GetEnumerator()) {
        $name = [string]$entry.Key
        if ($name -like 'AZCM_*' -and $name -notin @('AZCM_ROOT', 'AZCM_MODULE_PATH') -and [string]$entry.Value -notmatch '\s') {
            $forwarded += ('{0}={1}' -f $name, $entry.Value)
        }
    }

    $knownHosts = Join-Path -Path $dir -ChildPath 'known_hosts'
    $hostPublic = (Get-Content -LiteralPath ($hostKey + '.pub') -Raw).Trim().Split(' ')
    $started = @()
    foreach ($m in $Machine) {
        $machineDir = Join-Path -Path $dir -ChildPath $m.Name
        $root = Join-Path -Path $machineDir -ChildPath 'root'
        New-Item -ItemType Directory -Path $root -Force | Out-Null
        $config = Join-Path -Path $machineDir -ChildPath 'sshd_config'
        $lines = @(
            ('ListenAddress {0}:{1}' -f $m.Address, $(if ($m.Port) { $m.Port } else { 22 })),
            ('HostKey {0}' -f $hostKey),
            ('PidFile {0}' -f (Join-Path -Path $machineDir -ChildPath 'sshd.pid')),
            ('AuthorizedKeysFile {0}.pub' -f $clientKey),
            'PermitRootLogin prohibit-password',
            'PasswordAuthentication no',
            'KbdInteractiveAuthentication no',
            'UsePAM no',
            'StrictModes no',
            ('Subsystem powershell {0}' -f $subsystem),
            ('SetEnv AZCM_ROOT={0} {1}' -f $root, ($forwarded -join ' '))
        )
        [System.IO.File]::WriteAllText($config, ($lines -join "`n") + "`n")
        $log = Join-Path -Path $machineDir -ChildPath 'sshd.log'
        # The kernel takes any host name; hostname(1) refuses some (an underscore) that a
        # machine may still have.
        $arguments = '--uts sh -c "printf %s {0} > /proc/sys/kernel/hostname && exec /usr/sbin/sshd -D -e -f {1}"' -f $m.Name, $config
        $process = Start-Process -FilePath 'unshare' -ArgumentList $arguments -RedirectStandardError $log -PassThru
        $knownAs = $m.Address
        if ($m.Port) {
            $knownAs = '[{0}]:{1}' -f $m.Address, $m.Port
        }
        Add-Content -LiteralPath $knownHosts -Value ('{0} {1} {2}' -f $knownAs, $hostPublic[0], $hostPublic[1])
        $started += [pscustomobject]@{ Address = $m.Address; Name = $m.Name; Root = $root; Process = $process; Log = $log }
    }
    $fleet = [pscustomobject]@{
        Directory = $dir
        Machines  = $started
        Ssh       = @{
            UserName    = 'root'
            KeyFilePath = $clientKey
            Options     = @{ UserKnownHostsFile = $knownHosts; StrictHostKeyChecking = 'yes'; ConnectTimeout = '10' }
        }
    }
    foreach ($s in $started) {
        $deadline = (Get-Date).AddSeconds(20)
        while (-not ((Test-Path -LiteralPath $s.Log) -and (Select-String -LiteralPath $s.Log -Pattern 'Server listening' -Quiet))) {
            if ((Get-Date) -gt $deadline -or $s.Process.HasExited) {
                $why = Get-Content -LiteralPath $s.Log -Raw -ErrorAction SilentlyContinue
                Stop-TestSshMachine -Fleet $fleet
                throw ('sshd for {0} at {1} did not start: {2}' -f $s.Name, $s.Address, $why)
            }
            Start-Sleep -Milliseconds 50
        }
    }
    $fleet
}

function Stop-TestSshMachine {
    param(
        [Parameter(Mandatory = $false)]
        [object]$Fleet
    )

    if (-not $Fleet) {
        return
    }
    foreach ($m in $Fleet.Machines) {
        if (-not $m.Process.HasExited) {
            Stop-Process -Id $m.Process.Id -Force -ErrorAction SilentlyContinue
        }
    }
    Remove-Item -LiteralPath $Fleet.Directory -Recurse -Force -ErrorAction SilentlyContinue
}
