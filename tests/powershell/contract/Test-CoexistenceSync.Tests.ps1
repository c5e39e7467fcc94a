# Contract of Test-CoexistenceSync, with the core mocked.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Contract.ps1')
    $script:Report = @"
{"lastSyncTime": "2026-01-02T03:05:35.250Z", "lastRun": $(New-CoreRunJson),
 "objectsInScope": 12, "objectsInCloud": 11, "objectsSkipped": 0,
 "errors": [{"anchor": "a1", "dn": "CN=Ann,OU=Staff,DC=contoso,DC=com", "kind": "user", "reason": "bad UPN", "fix": "correct it"}],
 "runInProgress": false, "pendingChanges": {"update": 1}, "previewStatus": "success", "previewMessage": "", "healthy": false,
 "credentialExpires": "2027-01-02T03:04:05.500Z"}
"@
}

Describe 'Test-CoexistenceSync' {
    BeforeAll {
        Mock Invoke-DirSyncCore -ModuleName DirSync { New-CoreReply $Report }
    }

    It 'takes no parameter' {
        Get-ParameterContract Test-CoexistenceSync | Should -BeNullOrEmpty
    }

    It 'asks the core to verify, with no arguments' {
        $null = Test-CoexistenceSync
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'test-sync' -and $Arguments.Count -eq 0
        }
    }

    It 'returns DirSync.SyncTestResult with the last sync time as UTC [datetime]' {
        $report = Test-CoexistenceSync
        $report.PSObject.TypeNames[0] | Should -Be 'DirSync.SyncTestResult'
        $report.LastSyncTime | Should -Be ([datetime]::new(2026, 1, 2, 3, 5, 35, 250, [DateTimeKind]::Utc))
        $report.LastSyncTime.Kind | Should -Be 'Utc'
        $report.Healthy | Should -BeFalse
        $report.ObjectsInScope | Should -Be 12
        $report.PendingChanges.Update | Should -Be 1
        $report.Errors[0].Dn | Should -Be 'CN=Ann,OU=Staff,DC=contoso,DC=com'
    }

    It 'leaves the last sync time empty before the first successful sync' {
        Mock Invoke-DirSyncCore -ModuleName DirSync { New-CoreReply ($Report -replace '"lastSyncTime": "[^"]*"', '"lastSyncTime": null') }
        (Test-CoexistenceSync).LastSyncTime | Should -BeNullOrEmpty
    }

    It 'gives when the certificate expires as UTC [datetime], and shows it' {
        $report = Test-CoexistenceSync
        $report.CredentialExpires | Should -Be ([datetime]::new(2027, 1, 2, 3, 4, 5, 500, [DateTimeKind]::Utc))
        $report.CredentialExpires.Kind | Should -Be 'Utc'
        ($report | Out-String) | Should -Match 'CredentialExpires \(UTC\)\s*:\s*\S'
    }

    It 'leaves CredentialExpires empty for a client secret' {
        Mock Invoke-DirSyncCore -ModuleName DirSync { New-CoreReply ($Report -replace '"credentialExpires": "[^"]*"', '"credentialExpires": null') }
        $report = Test-CoexistenceSync
        $report.PSObject.Properties.Name | Should -Contain 'CredentialExpires'
        $report.CredentialExpires | Should -BeNullOrEmpty
    }
}
