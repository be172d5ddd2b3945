# Shared setup for the Pester tests: imports the module (the staged copy when build.ps1 passes
# AZCM_MODULE_PATH, else the source tree) and points it at a built azcm binary.
$repoRoot = Split-Path -Path (Split-Path -Path $PSScriptRoot -Parent) -Parent
$modulePath = $env:AZCM_MODULE_PATH
if (-not $modulePath) {
    $modulePath = Join-Path -Path $repoRoot -ChildPath 'powershell/AzcmAgent/AzcmAgent.psd1'
}
if (-not $env:AZCM_BINARY) {
    $exe = 'azcm'
    if ([System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT) {
        $exe = 'azcm.exe'
    }
    foreach ($configuration in @('debug', 'release')) {
        $candidate = Join-Path -Path $repoRoot -ChildPath ('target/{0}/{1}' -f $configuration, $exe)
        if (Test-Path -LiteralPath $candidate) {
            $env:AZCM_BINARY = $candidate
            break
        }
    }
}
Import-Module -Name $modulePath -Force -ErrorAction Stop

function New-TestStateRoot {
    # A fresh agent state root for one test: azcm re-roots all agent paths under AZCM_ROOT.
    param(
        [Parameter(Mandatory = $true)]
        [string]$Name
    )

    # Under Pester's TestDrive when there is one, which Pester removes after its block.
    $parent = [System.IO.Path]::GetTempPath()
    $testDrive = Get-Variable -Name 'TestDrive' -ValueOnly -ErrorAction SilentlyContinue
    if ($testDrive) {
        $parent = $testDrive
    }
    $root = Join-Path -Path $parent -ChildPath ('azcm-pester-{0}-{1}' -f $Name, [guid]::NewGuid())
    New-Item -ItemType Directory -Path $root -Force | Out-Null
    $env:AZCM_ROOT = $root
    $root
}

function Start-TestFakeCloud {
    # The fake Azure cloud on loopback: starts it and takes the environment it prints
    # (AZCM_CLOUD_FILE, AZCM_EXTRA_CA_CERTS, AZCM_IMDS_ENDPOINT, FAKE_*); Stop-TestFakeCloud puts
    # back what those variables were, so a second fake can run inside one test.
    param(
        [Parameter(Mandatory = $false)]
        [string]$Scenario
    )

    $fakeName = 'azcm-fakecloud'
    if ([System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT) {
        $fakeName = 'azcm-fakecloud.exe'
    }
    $fakeBinary = Join-Path -Path (Split-Path -Path $env:AZCM_BINARY -Parent) -ChildPath $fakeName
    if ($env:AZCM_FAKECLOUD) {
        $fakeBinary = $env:AZCM_FAKECLOUD
    }
    $dir = Join-Path -Path ([System.IO.Path]::GetTempPath()) -ChildPath ('azcm-fake-{0}' -f [guid]::NewGuid())
    New-Item -ItemType Directory -Path $dir -Force | Out-Null
    $envFile = Join-Path -Path $dir -ChildPath 'env.txt'
    $fakeArguments = @('--print-env', '--dir', $dir)
    if ($Scenario) {
        $fakeArguments += @('--scenario', $Scenario)
    }
    $process = Start-Process -FilePath $fakeBinary -ArgumentList $fakeArguments -RedirectStandardOutput $envFile -PassThru -NoNewWindow
    $deadline = (Get-Date).AddSeconds(30)
    while (-not ((Test-Path -LiteralPath $envFile) -and (Select-String -LiteralPath $envFile -Pattern 'FAKE_DNS_SERVER' -Quiet))) {
        if ((Get-Date) -gt $deadline) {
            throw 'azcm-fakecloud did not start'
        }
        Start-Sleep -Milliseconds 100
    }
    $previous = @{}
    foreach ($line in Get-Content -LiteralPath $envFile) {
        if ($line -match "^export ([A-Z_]+)='(.*)'$") {
            $previous[$Matches[1]] = [System.Environment]::GetEnvironmentVariable($Matches[1])
            [System.Environment]::SetEnvironmentVariable($Matches[1], $Matches[2].Replace("'\''", "'"))
        }
    }
    [pscustomobject]@{
        Process             = $process
        Directory           = $dir
        PreviousEnvironment = $previous
    }
}

function Stop-TestFakeCloud {
    param(
        [Parameter(Mandatory = $false)]
        [object]$Fake
    )

    if ($Fake -and -not $Fake.Process.HasExited) {
        Stop-Process -Id $Fake.Process.Id -Force
    }
    if ($Fake) {
        foreach ($name in $Fake.PreviousEnvironment.Keys) {
            [System.Environment]::SetEnvironmentVariable($name, $Fake.PreviousEnvironment[$name])
        }
        Remove-Item -LiteralPath $Fake.Directory -Recurse -Force -ErrorAction SilentlyContinue
    }
}

function Get-TestFakeCredential {
    # The fake cloud's service principal as a PSCredential (after Start-TestFakeCloud).
    $secret = ConvertTo-SecureString -String $env:FAKE_CLIENT_SECRET -AsPlainText -Force
    New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList $env:FAKE_CLIENT_ID, $secret
}

function Get-TestFakeTarget {
    # Where a connect against the fake cloud goes, to splat onto Connect-AzcmAgent.
    @{
        TenantId          = $env:FAKE_TENANT_ID
        SubscriptionId    = $env:FAKE_SUBSCRIPTION_ID
        ResourceGroupName = $env:FAKE_RESOURCE_GROUP
        Location          = $env:FAKE_LOCATION
        Cloud             = $env:FAKE_CLOUD
    }
}

function Get-TestFakeAccessToken {
    # An ARM access token from the fake cloud's Entra ID (client credentials), fetched the way
    # any client would: over TLS verified against the fake's CA (AZCM_EXTRA_CA_CERTS).
    # The helper's own native call passes its arguments as a list, whichever mode the module is
    # tested under (the module reads the global one, this scope does not reach it).
    $PSNativeCommandArgumentPassing = 'Standard'
    $python = @'
import json, os, ssl, urllib.parse, urllib.request
cloud = json.load(open(os.environ["AZCM_CLOUD_FILE"]))["clouds"][0]
url = "%s/%s/oauth2/v2.0/token" % (cloud["authority"].rstrip("/"), os.environ["FAKE_TENANT_ID"])
form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": os.environ["FAKE_CLIENT_ID"],
    "client_secret": os.environ["FAKE_CLIENT_SECRET"], "scope": cloud["audience"].rstrip("/") + "/.default"}).encode()
context = ssl.create_default_context(cafile=os.environ["AZCM_EXTRA_CA_CERTS"])
with urllib.request.urlopen(urllib.request.Request(url, data=form), context=context, timeout=30) as answer:
    print(json.load(answer)["access_token"])
'@
    $token = & python3 -c $python 2>&1
    if ($LASTEXITCODE -ne 0) {
        throw ('no token from the fake cloud: {0}' -f ($token | Out-String))
    }
    ([string]$token).Trim()
}

function New-TestFakeCertificate {
    # A self-signed certificate for the fake's service principal: a PEM file with the
    # certificate and its key (what -ServicePrincipalCertificatePath takes), and a scenario file
    # that registers it (Start-TestFakeCloud -Scenario).
    param(
        [Parameter(Mandatory = $true)]
        [string]$Directory
    )

    $rsa = [System.Security.Cryptography.RSA]::Create(2048)
    $request = New-Object -TypeName System.Security.Cryptography.X509Certificates.CertificateRequest -ArgumentList 'CN=azcm pester principal', $rsa, ([System.Security.Cryptography.HashAlgorithmName]::SHA256), ([System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
    $certificate = $request.CreateSelfSigned([DateTimeOffset]::UtcNow.AddMinutes(-5), [DateTimeOffset]::UtcNow.AddDays(1))
    $certificatePem = $certificate.ExportCertificatePem()
    $name = [guid]::NewGuid()
    $pemPath = Join-Path -Path $Directory -ChildPath ('principal-{0}.pem' -f $name)
    Set-Content -LiteralPath $pemPath -Value ($certificatePem + "`n" + $rsa.ExportPkcs8PrivateKeyPem()) -Encoding Ascii
    $scenario = Join-Path -Path $Directory -ChildPath ('scenario-{0}.json' -f $name)
    ConvertTo-Json -InputObject @{ clientCertificates = @($certificatePem) } | Set-Content -LiteralPath $scenario -Encoding Ascii
    [pscustomobject]@{ PemPath = $pemPath; Scenario = $scenario }
}
