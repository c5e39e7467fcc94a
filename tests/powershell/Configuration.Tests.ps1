# Set-CoexistenceConfiguration and the accidental-delete protection cmdlets.
BeforeAll {
    $script:Root = Resolve-Path (Join-Path $PSScriptRoot '../..')
    $script:Home0 = Join-Path ([IO.Path]::GetTempPath()) "dirsync-pester-config-$PID"
    $env:DIRSYNC_HOME = $Home0
    Import-Module (Join-Path $Root 'powershell/DirSync.psd1') -Force
    $script:ConfigFile = Join-Path $Home0 'dirsync.json'
}

AfterAll {
    Remove-Item -Recurse -Force $Home0 -ErrorAction SilentlyContinue
    Remove-Item Env:DIRSYNC_HOME -ErrorAction SilentlyContinue
}

Describe 'Configuration cmdlets' {
    BeforeEach {
        Remove-Item -Recurse -Force $Home0 -ErrorAction SilentlyContinue
        New-Item -ItemType Directory $Home0 | Out-Null
        Set-Content $ConfigFile '{}'
    }

Describe 'Set-CoexistenceConfiguration' {
    It 'changes only the settings given and keeps them' {
        Set-CoexistenceConfiguration -IncludeOUs 'OU=Staff,DC=contoso,DC=com' -StagingMode $true
        $config = Get-CoexistenceConfiguration
        $config.Sync.IncludeOUs | Should -Be 'OU=Staff,DC=contoso,DC=com'
        $config.Sync.StagingMode | Should -BeTrue
        $config.Sync.ExclusionAttribute | Should -Be 'extensionAttribute15=NoSync'
        (Get-Content $ConfigFile -Raw | ConvertFrom-Json).sync.stagingMode | Should -BeTrue
    }

    It 'returns the configuration with -PassThru' {
        $config = Set-CoexistenceConfiguration -Proxy 'http://proxy.contoso.com:8080' -PassThru
        $config.PSObject.TypeNames[0] | Should -Be 'DirSync.CoexistenceConfiguration'
        $config.Tenant.Proxy | Should -Be 'http://proxy.contoso.com:8080'
    }

    It 'changes nothing with -WhatIf' {
        $before = Get-FileHash $ConfigFile
        Set-CoexistenceConfiguration -StagingMode $true -WhatIf
        (Get-FileHash $ConfigFile).Hash | Should -Be $before.Hash
    }

    It 'refuses an invalid OU by name and leaves the file untouched' {
        $before = Get-FileHash $ConfigFile
        $err = { Set-CoexistenceConfiguration -IncludeOUs 'Staff' } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be 'DirSync.InvalidArgument,Set-CoexistenceConfiguration'
        "$err" | Should -Match "'Staff' is not a distinguished name.*Nothing was changed"
        (Get-FileHash $ConfigFile).Hash | Should -Be $before.Hash
    }

    It 'says there is no configuration yet, and creates none' {
        Remove-Item $ConfigFile
        $err = { Set-CoexistenceConfiguration -StagingMode $true } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be 'DirSync.NotConfigured,Set-CoexistenceConfiguration'
        Test-Path $ConfigFile | Should -BeFalse
    }
}

Describe 'Get-PreventAccidentalDeletes and Set-PreventAccidentalDeletes' {
    It 'is on at 500 by default' {
        $protection = Get-PreventAccidentalDeletes
        $protection.PSObject.TypeNames[0] | Should -Be 'DirSync.PreventAccidentalDeletes'
        $protection.Enabled | Should -BeTrue
        $protection.ObjectDeletionThreshold | Should -Be 500
    }

    It 'sets a threshold, turns off and on again keeping the threshold' {
        Set-PreventAccidentalDeletes -Enable -ObjectDeletionThreshold 1000
        (Get-PreventAccidentalDeletes).ObjectDeletionThreshold | Should -Be 1000
        Set-PreventAccidentalDeletes -Disable
        (Get-PreventAccidentalDeletes).Enabled | Should -BeFalse
        $protection = Set-PreventAccidentalDeletes -Enable -PassThru
        $protection.Enabled | Should -BeTrue
        $protection.ObjectDeletionThreshold | Should -Be 1000
    }

    It 'refuses a threshold of <Threshold> and changes nothing' -ForEach @(@{ Threshold = 0 }, @{ Threshold = -5 }) {
        $before = Get-FileHash $ConfigFile
        $err = { Set-PreventAccidentalDeletes -Enable -ObjectDeletionThreshold $Threshold } | Should -Throw -PassThru
        "$err" | Should -Match "objectDeletionThreshold' must be between 1 and 1000000"
        (Get-FileHash $ConfigFile).Hash | Should -Be $before.Hash
    }

    It 'does not take -Enable and -Disable together' {
        { Set-PreventAccidentalDeletes -Enable -Disable } | Should -Throw -ErrorId 'AmbiguousParameterSet,Set-PreventAccidentalDeletes'
    }
}
}
