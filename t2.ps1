$o = @{ UserKnownHostsFile = '/tmp/s13/ssh/known_hosts'; StrictHostKeyChecking = 'yes' }
$t = Measure-Command { $s = New-PSSession -HostName 127.0.0.16, 127.0.0.11 -UserName root -KeyFilePath /tmp/s13/ssh/client_key -Options $o -ErrorAction SilentlyContinue -ErrorVariable bad }
"took $($t.TotalSeconds)"
$s | % ComputerName
foreach ($b in $bad) { "ID=$($b.FullyQualifiedErrorId) T=$($b.TargetObject) O=$($b.OriginInfo.PSComputerName) M=$($b.Exception.Message)" }
