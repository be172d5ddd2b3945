BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Common.ps1')
    $script:fake = Start-TestFakeCloud
}

AfterAll {
    Stop-TestFakeCloud -Fake $script:fake
}

Describe 'Test-AzcmConnectivity' {
    BeforeEach {
        $script:root = New-TestStateRoot -Name 'check'
    }

    It 'returns one EndpointCheck per endpoint and a summary' {
        $results = @(Test-AzcmConnectivity -Location $env:FAKE_LOCATION -Cloud $env:FAKE_CLOUD)
        $endpoints = @($results | Where-Object { $_.PSObject.TypeNames[0] -eq 'AzcmAgent.EndpointCheck' })
        $summary = $results | Where-Object { $_.PSObject.TypeNames[0] -eq 'AzcmAgent.ConnectivitySummary' }
        $endpoints.Count | Should -Be 8
        ($endpoints | Where-Object { -not $_.Ok }) | Should -BeNullOrEmpty
        $endpoints[0].TlsVersion | Should -Match '^TLS 1\.[23]$'
        $endpoints[0].Stages.http.status | Should -Be 200
        $summary.Ok | Should -BeTrue
        $summary.RequiredReachable | Should -Be 8
        $summary.HisRegionSource | Should -Be 'discovery'
    }

    It 'answers $true with -Quiet when everything is reachable' {
        Test-AzcmConnectivity -Location $env:FAKE_LOCATION -Cloud $env:FAKE_CLOUD -Quiet | Should -BeTrue
    }

    It 'still returns the results when required endpoints fail, and writes AZCM0026' {
        # The fake DNS server knows only *.azcmfake.test: localhost does not resolve through it.
        $results = @(Test-AzcmConnectivity -Location $env:FAKE_LOCATION -Cloud $env:FAKE_CLOUD -DnsServer $env:FAKE_DNS_SERVER -TimeoutSec 2 -ErrorVariable checkErrors -ErrorAction SilentlyContinue)
        $failed = @($results | Where-Object { $_.PSObject.TypeNames[0] -eq 'AzcmAgent.EndpointCheck' -and -not $_.Ok })
        $failed.Count | Should -Be 8
        $failed[0].FailedStage | Should -Be 'dns'
        $failed[0].Remediation | Should -Not -BeNullOrEmpty
        $checkErrors[0].FullyQualifiedErrorId | Should -Be 'AZCM0026,Test-AzcmConnectivity'
        Test-AzcmConnectivity -Location $env:FAKE_LOCATION -Cloud $env:FAKE_CLOUD -DnsServer $env:FAKE_DNS_SERVER -TimeoutSec 2 -Quiet -ErrorAction SilentlyContinue | Should -BeFalse
    }

    It 'names the private-link rule as the failing stage with -EnablePrivateLinkCheck' {
        $results = @(Test-AzcmConnectivity -Location $env:FAKE_LOCATION -Cloud $env:FAKE_CLOUD -EnablePrivateLinkCheck -ErrorAction SilentlyContinue)
        $broken = @($results | Where-Object { $_.FailedStage -eq 'privateLink' })
        $broken.Count | Should -BeGreaterThan 0
        $broken[0].Failure | Should -Match '\(public\)'
    }

    It 'raises AZCM0020 for an unknown region' {
        { Test-AzcmConnectivity -Location 'westeurop' -Cloud $env:FAKE_CLOUD } | Should -Throw -ErrorId 'AZCM0020,Test-AzcmConnectivity'
    }
}
