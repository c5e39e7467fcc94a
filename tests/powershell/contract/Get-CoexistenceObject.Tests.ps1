# Contract of Get-CoexistenceObject, with the core mocked: the report as the core gives it (engine/describe.py).
BeforeAll { . (Join-Path $PSScriptRoot 'Contract.ps1') }

Describe 'Get-CoexistenceObject' {
    BeforeAll {
        Mock Invoke-DirSyncCore -ModuleName DirSync {
            New-CoreReply @'
[{"identity": "jdoe", "anchor": "4AQlP4lP0xGaDAMF6CwzAQ==", "kind": "user", "dn": "CN=John Doe,OU=Sales,DC=contoso,DC=com",
  "inActiveDirectory": true, "inScope": true, "scopeRule": "under the included OU ou=sales,dc=contoso,dc=com",
  "skipReason": null, "values": {"displayName": "John Doe", "accountEnabled": false}, "mappingError": null,
  "mappingFix": null, "expires": "2026-06-30T22:00:00+00:00", "cloudId": "c1", "cloudState": "active",
  "wouldChange": {"accountEnabled": false}, "wouldDelete": false, "lastWritten": "2026-01-02T03:04:05.250Z",
  "lastRun": 7, "lastResult": "error", "lastError": "The UPN is taken.", "lastFix": "Change it.",
  "memberships": [{"dn": "CN=Sales,DC=contoso,DC=com", "anchor": "g1", "inActiveDirectory": true, "inCloud": false}],
  "manager": "CN=Ann,DC=contoso,DC=com"}]
'@
        }
    }

    It 'takes -Identity, mandatory, from the pipeline, by value and by the AD objects'' property names' {
        Get-ParameterContract Get-CoexistenceObject | Should -Be @('Identity [String[]] mandatory in __AllParameterSets from the pipeline')
        (Get-Command Get-CoexistenceObject).Parameters.Identity.Aliases | Should -Be @('DistinguishedName', 'ObjectGUID', 'UserPrincipalName', 'SamAccountName')
    }

    It 'asks the core once for every identity of the pipeline' {
        $null = 'jdoe', [pscustomobject]@{ UserPrincipalName = 'ann@contoso.com' } | Get-CoexistenceObject
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'get-object' -and ($Arguments.identities -join '|') -eq 'jdoe|ann@contoso.com'
        }
    }

    It 'returns DirSync.ObjectReport with UTC times, the scope rule, the pending change, the error and fix, and the memberships' {
        $report = Get-CoexistenceObject jdoe
        $report.PSObject.TypeNames[0] | Should -Be 'DirSync.ObjectReport'
        $report.DistinguishedName | Should -Be 'CN=John Doe,OU=Sales,DC=contoso,DC=com'
        $report.ScopeRule | Should -BeLike 'under the included OU*'
        $report.LastWritten | Should -Be ([datetime]::new(2026, 1, 2, 3, 4, 5, 250, [DateTimeKind]::Utc))
        $report.AccountExpires.Kind | Should -Be 'Utc'
        $report.WouldChange.accountEnabled | Should -BeFalse
        "$($report.LastError) $($report.LastFix)" | Should -Be 'The UPN is taken. Change it.'
        $report.Memberships[0].PSObject.TypeNames[0] | Should -Be 'DirSync.Membership'
        $report.Memberships[0].InCloud | Should -BeFalse
    }

    It 'shows the object as a list on the console, the membership with where it is' {
        $shown = Get-CoexistenceObject jdoe | Out-String
        $shown | Should -Match 'InScope\s+: True: under the included OU'
        $shown | Should -Match 'LastError\s+: The UPN is taken. Change it.'
        $shown | Should -Match 'CN=Sales,DC=contoso,DC=com \(AD: True, cloud: False\)'
    }
}
