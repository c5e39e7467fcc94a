# Contract of Get-CoexistenceSyncHistory, with the core mocked.
BeforeAll { . (Join-Path $PSScriptRoot 'Contract.ps1') }

Describe 'Get-CoexistenceSyncHistory' {
    BeforeAll {
        Mock Invoke-DirSyncCore -ModuleName DirSync { New-CoreReply "[$(New-CoreRunJson), $(New-CoreRunJson 'completed-export-errors')]" }
    }

    It 'takes -Last, a positive number, and nothing from the pipeline' {
        Get-ParameterContract Get-CoexistenceSyncHistory | Should -Be @('Last [Int32]')
        { Get-CoexistenceSyncHistory -Last 0 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Get-CoexistenceSyncHistory'
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 0 -Exactly
    }

    It 'asks the core for the history, all of it without -Last' {
        $null = Get-CoexistenceSyncHistory
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'get-history' -and $Arguments.Count -eq 0
        }
    }

    It 'sends -Last as last' {
        $null = Get-CoexistenceSyncHistory -Last 5
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'get-history' -and $Arguments.Count -eq 1 -and $Arguments.last -eq 5
        }
    }

    It 'returns one DirSync.RunResult per run, with times as UTC [datetime] and the counts on top' {
        $runs = @(Get-CoexistenceSyncHistory)
        $runs.Count | Should -Be 2
        $runs[0].PSObject.TypeNames[0] | Should -Be 'DirSync.RunResult'
        $runs[1].Status | Should -Be 'completed-export-errors'
        $runs[0].StartTime | Should -BeOfType [datetime]
        $runs[0].StartTime.Kind | Should -Be 'Utc'
        $runs[0].StartTime | Should -Be ([datetime]::new(2026, 1, 2, 3, 4, 5, 250, [DateTimeKind]::Utc))
        $runs[0].Duration | Should -Be ([timespan]::FromSeconds(90))
        $runs[0].Added | Should -Be 2
        $runs[0].Updated | Should -Be 1
        $runs[0].RunId | Should -Be 7
    }
}
