function Get-AzcmSshFailureReason {
    # Why SSH sessions did not open, in words an admin can act on: PowerShell only says "The SSH
    # transport process has abruptly terminated" (ssh writes its own message straight to the
    # console). ssh -G tells where ssh would connect (ssh_config aliases, -Port and -Options
    # applied, nothing sent); a TCP connection is then tried there, to every host at once and
    # for TimeoutSeconds at most. Returns host name -> reason; a host behind a ProxyJump or
    # ProxyCommand, or that ssh -G rejects, has no entry.
    [CmdletBinding()]
    [OutputType([hashtable])]
    param(
        [Parameter(Mandatory = $true)]
        [string[]]$HostName,

        [Parameter(Mandatory = $false)]
        [int]$Port,

        [Parameter(Mandatory = $false)]
        [string]$UserName,

        [Parameter(Mandatory = $false)]
        [hashtable]$Options,

        [Parameter(Mandatory = $false)]
        [ValidateRange(1, 60)]
        [int]$TimeoutSeconds = 5
    )

    $ssh = Get-Command -Name 'ssh' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    $probes = @()
    foreach ($name in $HostName) {
        $target = $name
        $targetPort = 22
        if ($Port) {
            $targetPort = $Port
        }
        $user = $UserName
        if ($ssh) {
            $sshArgs = @('-G')
            if ($Port) {
                $sshArgs += @('-p', [string]$Port)
            }
            if ($UserName) {
                $sshArgs += @('-l', $UserName)
            }
            if ($Options) {
                foreach ($key in $Options.Keys) {
                    $sshArgs += @('-o', ('{0}={1}' -f $key, $Options[$key]))
                }
            }
            $sshArgs += @('--', $name)
            $sshArgs = @(ConvertTo-AzcmNativeArgument -Argument $sshArgs)
            $effective = @(& $ssh.Source @sshArgs 2>$null)
            if ($LASTEXITCODE -ne 0) {
                continue
            }
            $proxied = $false
            foreach ($line in $effective) {
                $key, $value = ([string]$line).Split(' ', 2)
                switch ($key) {
                    'hostname' { $target = $value }
                    'port' { $targetPort = [int]$value }
                    'user' { $user = $value }
                    'proxycommand' { $proxied = $true }
                    'proxyjump' { $proxied = $true }
                }
            }
            if ($proxied) {
                continue
            }
        }
        $client = New-Object -TypeName System.Net.Sockets.TcpClient
        $probes += [pscustomobject]@{
            Name   = $name
            Target = $target
            Port   = $targetPort
            User   = $user
            Client = $client
            Task   = $client.ConnectAsync($target, $targetPort)
        }
    }

    $deadline = [System.DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    $reasons = @{}
    foreach ($probe in $probes) {
        $left = [int][System.Math]::Max(0, ($deadline - [System.DateTime]::UtcNow).TotalMilliseconds)
        try {
            [void]$probe.Task.Wait($left)
        } catch {
            # A refused or unresolvable connection faults the task: its status says which.
            $null = $_
        }
        $where = '{0} port {1}' -f $probe.Target, $probe.Port
        $socketError = $null
        if ($probe.Task.IsFaulted) {
            $inner = $probe.Task.Exception.InnerException
            if ($inner -is [System.Net.Sockets.SocketException]) {
                $socketError = [string]$inner.SocketErrorCode
            } else {
                $socketError = $inner.Message
            }
        }
        $reasons[$probe.Name] = switch ($true) {
            ($probe.Task.Status -eq 'RanToCompletion') {
                $login = $probe.Target
                if ($probe.User) {
                    $login = '{0}@{1}' -f $probe.User, $probe.Target
                }
                "$where accepts connections, so the SSH sign-in (user, key, host key) or the machine's powershell subsystem failed; 'ssh -p $($probe.Port) $login' shows which"
                break
            }
            (-not $probe.Task.IsCompleted) {
                "$where did not answer within $TimeoutSeconds s (the machine is off, or a firewall drops the connection)"
                break
            }
            ($socketError -eq 'ConnectionRefused') {
                "nothing listens on $where (connection refused)"
                break
            }
            ($socketError -in @('HostNotFound', 'NoData', 'TryAgain')) {
                "the name $($probe.Target) does not resolve"
                break
            }
            ($socketError -in @('NetworkUnreachable', 'HostUnreachable')) {
                "$where cannot be reached: no route to it ($socketError)"
                break
            }
            default {
                "$where cannot be reached: $socketError"
            }
        }
        $probe.Client.Dispose()
    }
    $reasons
}
