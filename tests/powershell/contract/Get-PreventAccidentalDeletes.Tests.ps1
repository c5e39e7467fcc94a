# Contract of Get-PreventAccidentalDeletes, with the core mocked.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Contract.ps1')
    $script:Reply = New-CoreConfigurationJson
}

Describe 'Get-PreventAccidentalDeletes' {
    BeforeAll {
        Mock Invoke-DirSyncCore -ModuleName DirSync { New-CoreReply $Reply }
    }

    It 'takes no parameter' {
        Get-ParameterContract Get-PreventAccidentalDeletes | Should -BeNullOrEmpty
    }

    It 'reads the configuration and returns its accidental-delete section as DirSync.PreventAccidentalDeletes' {
        $protection = Get-PreventAccidentalDeletes
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'get-configuration' -and $Arguments.Count -eq 0
        }
        $protection.PSObject.TypeNames[0] | Should -Be 'DirSync.PreventAccidentalDeletes'
        $protection.Enabled | Should -BeTrue
        $protection.ObjectDeletionThreshold | Should -Be 500
    }
}
