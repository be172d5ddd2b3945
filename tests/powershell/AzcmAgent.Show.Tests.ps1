BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Common.ps1')
    $script:fake = Start-TestFakeCloud
    $script:credential = Get-TestFakeCredential
}

AfterAll {
    Stop-TestFakeCloud -Fake $script:fake
}

Describe 'Get-AzcmAgent' {
    BeforeEach {
        $script:root = New-TestStateRoot -Name 'show'
    }

    It 'shows a disconnected machine' {
        $agent = Get-AzcmAgent
        $agent.PSObject.TypeNames[0] | Should -Be 'AzcmAgent.Agent'
        $agent.Status | Should -Be 'Disconnected'
        $agent.ResourceId | Should -BeNullOrEmpty
    }

    It 'has a list view an admin can read: services as name: state, no hashtable syntax' {
        $view = Get-AzcmAgent | Out-String -Width 160
        $view | Should -Match 'Status\s+: Disconnected'
        $view | Should -Match 'DependentServices\s+: himdsd: not installed, '
        $view | Should -Not -Match '@\{'
    }

    It 'returns the properties asked for by display name or key' {
        $rows = @(Get-AzcmAgent -Property 'Agent Status', 'lastHeartbeat')
        $rows.Count | Should -Be 2
        $rows[0].PSObject.TypeNames[0] | Should -Be 'AzcmAgent.AgentProperty'
        $rows[0].Name | Should -Be 'status'
        { Get-AzcmAgent -Property 'Agent Colour' } | Should -Throw -ErrorId 'AZCM0023,Get-AzcmAgent'
    }

    It 'shows the connected resource and the cloud view with -Arm' {
        Connect-AzcmAgent -ServicePrincipalCredential $script:credential -TenantId $env:FAKE_TENANT_ID -SubscriptionId $env:FAKE_SUBSCRIPTION_ID -ResourceGroupName $env:FAKE_RESOURCE_GROUP -Location $env:FAKE_LOCATION -Cloud $env:FAKE_CLOUD -Name 'pester-show' | Out-Null
        $agent = Get-AzcmAgent -Arm -ServicePrincipalCredential $script:credential -TenantId $env:FAKE_TENANT_ID
        $agent.ResourceName | Should -Be 'pester-show'
        $agent.Status | Should -Be 'Connected'
        $agent.Arm.exists | Should -BeTrue
        @($agent.Arm.disagreements).Count | Should -Be 0
    }
}
