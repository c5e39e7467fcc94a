# Contract of Get-CoexistenceSyncSchedule, with the core mocked.
BeforeAll { . (Join-Path $PSScriptRoot 'Contract.ps1') }

Describe 'Get-CoexistenceSyncSchedule' {
    BeforeAll {
        Mock Invoke-DirSyncCore -ModuleName DirSync { New-CoreReply (New-CoreScheduleJson) }
    }

    It 'takes no parameter' {
        Get-ParameterContract Get-CoexistenceSyncSchedule | Should -BeNullOrEmpty
    }

    It 'asks the core for the schedule, with no arguments' {
        $null = Get-CoexistenceSyncSchedule
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'get-schedule' -and $Arguments.Count -eq 0
        }
    }

    It 'returns DirSync.CoexistenceSyncSchedule with the interval as [timespan] and times as UTC [datetime]' {
        $schedule = Get-CoexistenceSyncSchedule
        $schedule.PSObject.TypeNames[0] | Should -Be 'DirSync.CoexistenceSyncSchedule'
        $schedule.Enabled | Should -BeTrue
        $schedule.Interval | Should -Be ([timespan]::FromHours(3))
        $schedule.NextRunTime | Should -Be ([datetime]::new(2026, 1, 2, 6, 0, 0, [DateTimeKind]::Utc))
        $schedule.NextRunTime.Kind | Should -Be 'Utc'
        $schedule.LastRunTime.Kind | Should -Be 'Utc'
        $schedule.Scheduler | Should -Be 'cron'
    }

    It 'leaves the next run time empty when no schedule is registered' {
        Mock Invoke-DirSyncCore -ModuleName DirSync {
            New-CoreReply '{"enabled": false, "intervalMinutes": 60, "scheduler": "cron", "command": null, "lastRunTime": null, "nextRunTime": null}'
        }
        $schedule = Get-CoexistenceSyncSchedule
        $schedule.NextRunTime | Should -BeNullOrEmpty
        $schedule.Interval | Should -Be ([timespan]::FromHours(1))
    }
}
