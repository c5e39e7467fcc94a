# Contract of Get-CoexistenceConfiguration, with the core mocked.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Contract.ps1')
    $script:Reply = New-CoreConfigurationJson
}

Describe 'Get-CoexistenceConfiguration' {
    BeforeAll {
        Mock Invoke-DirSyncCore -ModuleName DirSync { New-CoreReply $Reply }
    }

    It 'takes no parameter' {
        Get-ParameterContract Get-CoexistenceConfiguration | Should -BeNullOrEmpty
    }

    It 'asks the core for the configuration, with no arguments' {
        $null = Get-CoexistenceConfiguration
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'get-configuration' -and $Arguments.Count -eq 0
        }
    }

    It 'returns DirSync.CoexistenceConfiguration with every section in PascalCase' {
        $config = Get-CoexistenceConfiguration
        $config.PSObject.TypeNames[0] | Should -Be 'DirSync.CoexistenceConfiguration'
        $config.Path | Should -Be '/srv/dirsync/dirsync.json'
        $config.Sync.IntervalMinutes | Should -Be 180
        $config.Sync.ExclusionAttribute | Should -Be 'extensionAttribute15=NoSync'
        $config.ActiveDirectory.Port | Should -Be 636
        $config.PreventAccidentalDeletes.ObjectDeletionThreshold | Should -Be 500
        $config.ExchangeHybrid | Should -BeFalse
    }
}
