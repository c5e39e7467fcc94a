# Contract of Set-CoexistenceSyncSchedule, with the core mocked.
BeforeAll { . (Join-Path $PSScriptRoot 'Contract.ps1') }

Describe 'Set-CoexistenceSyncSchedule' {
    BeforeAll {
        Mock Invoke-DirSyncCore -ModuleName DirSync { New-CoreReply (New-CoreScheduleJson) }
    }

    It 'takes -Interval as [timespan] and -Enabled as [bool]' {
        Get-ParameterContract Set-CoexistenceSyncSchedule | Should -Be @(
            'Enabled [Boolean]', 'Interval [TimeSpan]', 'PassThru [SwitchParameter]')
    }

    It 'sends the interval in whole minutes and -Enabled' {
        Set-CoexistenceSyncSchedule -Interval 1:30:00 -Enabled $true
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'set-schedule' -and $Arguments.Count -eq 2 -and
            $Arguments.interval_minutes -eq 90 -and $Arguments.interval_minutes -is [int] -and $Arguments.enabled -eq $true
        }
    }

    It 'sends only what is given' {
        Set-CoexistenceSyncSchedule -Enabled $false
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Arguments.Count -eq 1 -and $Arguments.enabled -eq $false
        }
    }

    It 'refuses an interval that is not whole minutes, before calling the core' {
        $err = { Set-CoexistenceSyncSchedule -Interval 0:30:30 } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be 'DirSync.InvalidArgument,Set-CoexistenceSyncSchedule'
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 0 -Exactly
    }

    It 'warns and calls nothing when nothing is given' {
        Set-CoexistenceSyncSchedule -WarningVariable warned -WarningAction SilentlyContinue
        "$warned" | Should -Match 'Give -Interval or -Enabled'
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 0 -Exactly
    }

    It 'changes nothing with -WhatIf, and asks nothing with -Confirm:$false' {
        Set-CoexistenceSyncSchedule -Interval 1:00:00 -WhatIf
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 0 -Exactly
        Set-CoexistenceSyncSchedule -Interval 1:00:00 -Confirm:$false
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter { $Command -eq 'set-schedule' }
    }

    It 'returns nothing, or DirSync.CoexistenceSyncSchedule with -PassThru' {
        Set-CoexistenceSyncSchedule -Enabled $true | Should -BeNullOrEmpty
        $schedule = Set-CoexistenceSyncSchedule -Enabled $true -PassThru
        $schedule.PSObject.TypeNames[0] | Should -Be 'DirSync.CoexistenceSyncSchedule'
        $schedule.Interval | Should -Be ([timespan]::FromHours(3))
        $schedule.NextRunTime.Kind | Should -Be 'Utc'
    }
}
