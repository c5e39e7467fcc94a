# Contract of Start-OnlineCoexistenceSync, with the core mocked. The core's run result says whether the
# run failed and which ErrorId it carries (failed, errorId): the cmdlet reports that, inventing nothing.
BeforeAll { . (Join-Path $PSScriptRoot 'Contract.ps1') }

Describe 'Start-OnlineCoexistenceSync' {
    BeforeAll {
        Mock Invoke-DirSyncCore -ModuleName DirSync { New-CoreReply (New-CoreRunJson) }
    }

    It 'takes -Identity (from the pipeline), -FullSync, -AllowDeletes, -Wait and -TakeOver, and supports -WhatIf' {
        Get-ParameterContract Start-OnlineCoexistenceSync | Should -Be @('AllowDeletes [SwitchParameter]', 'FullSync [SwitchParameter]',
            'Identity [String[]] from the pipeline', 'TakeOver [SwitchParameter]', 'Wait [SwitchParameter]')
        (Get-Command Start-OnlineCoexistenceSync).Parameters.Keys | Should -Contain 'WhatIf'
        (Get-Command Start-OnlineCoexistenceSync).Parameters.Identity.Aliases | Should -Be @('DistinguishedName', 'ObjectGUID', 'UserPrincipalName', 'SamAccountName')
    }

    It 'sends every identity of the pipeline, by value and by property name, in one run, and -Wait' {
        # As Get-ADUser gives them: the DistinguishedName (a string) binds first.
        $users = @([pscustomobject]@{ DistinguishedName = 'CN=Ann,DC=contoso,DC=com'; SamAccountName = 'ann'
                                      ObjectGUID = [guid]'3f2504e0-4f89-11d3-9a0c-0305e82c3301' },
                   [pscustomobject]@{ UserPrincipalName = 'bob@contoso.com' })
        $null = $users | Start-OnlineCoexistenceSync -Wait
        $null = 'jdoe', 'ann@contoso.com' | Start-OnlineCoexistenceSync
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'start-sync' -and $Arguments.wait -eq $true -and
            ($Arguments.objects -join '|') -eq 'CN=Ann,DC=contoso,DC=com|bob@contoso.com'
        }
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'start-sync' -and -not $Arguments.ContainsKey('wait') -and ($Arguments.objects -join '|') -eq 'jdoe|ann@contoso.com'
        }
    }

    It 'asks the core for the preview of the named objects with -WhatIf' {
        $null = Start-OnlineCoexistenceSync -Identity jdoe -WhatIf
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'start-sync' -and $Arguments.preview -eq $true -and ($Arguments.objects -join '|') -eq 'jdoe'
        }
    }

    It 'starts a delta sync by default' {
        $null = Start-OnlineCoexistenceSync
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'start-sync' -and $Arguments.Count -eq 3 -and
            $Arguments.full -eq $false -and $Arguments.preview -eq $false -and $Arguments.allow_deletes -eq $false
        }
    }

    It 'sends -FullSync and -AllowDeletes' {
        $null = Start-OnlineCoexistenceSync -FullSync -AllowDeletes -Confirm:$false
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'start-sync' -and $Arguments.full -eq $true -and $Arguments.preview -eq $false -and $Arguments.allow_deletes -eq $true
        }
    }

    It 'sends -TakeOver only when given' {
        $null = Start-OnlineCoexistenceSync -TakeOver
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'start-sync' -and $Arguments.take_over -eq $true -and $Arguments.preview -eq $false
        }
        $null = Start-OnlineCoexistenceSync
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'start-sync' -and -not $Arguments.ContainsKey('take_over')
        }
    }

    It 'asks the core for a preview with -WhatIf, and returns its plan' {
        Mock Invoke-DirSyncCore -ModuleName DirSync {
            New-CoreReply (New-CoreRunJson -Extra '"plan": [{"action": "create", "kind": "user", "dn": "CN=Ann,DC=contoso,DC=com"}]')
        }
        $run = Start-OnlineCoexistenceSync -WhatIf
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'start-sync' -and $Arguments.preview -eq $true
        }
        $run.Plan[0].Action | Should -Be 'create'
    }

    It 'returns DirSync.RunResult with UTC times, the duration and the counts on top' {
        $run = Start-OnlineCoexistenceSync
        $run.PSObject.TypeNames[0] | Should -Be 'DirSync.RunResult'
        $run.Status | Should -Be 'success'
        $run.EndTime | Should -Be ([datetime]::new(2026, 1, 2, 3, 5, 35, 250, [DateTimeKind]::Utc))
        $run.Duration | Should -Be ([timespan]::FromSeconds(90))
        $run.Added | Should -Be 2
    }

    It "warns once per object in error, with the object's fix, and a run with export errors is no failure" {
        Mock Invoke-DirSyncCore -ModuleName DirSync {
            New-CoreReply ((New-CoreRunJson 'completed-export-errors') -replace '"errors": \[\]',
                '"errors": [{"dn": "CN=Ann,DC=contoso,DC=com", "reason": "The UPN is taken.", "fix": "Change it."}]')
        }
        $run = Start-OnlineCoexistenceSync -WarningVariable warned -WarningAction SilentlyContinue -ErrorVariable failed
        @($warned).Count | Should -Be 1
        "$warned" | Should -Be 'CN=Ann,DC=contoso,DC=com: The UPN is taken. Change it.'
        $failed | Should -BeNullOrEmpty
        $run.Status | Should -Be 'completed-export-errors'
    }

    Context 'a run the core says failed' {
        BeforeAll {
            Mock Invoke-DirSyncCore -ModuleName DirSync {
                New-CoreReply ((New-CoreRunJson 'stopped-server-down' -Failed $true -ErrorId 'DirSync.Run.stopped-server-down') -replace
                    '"message": ""', '"message": "dc1.contoso.com could not be reached."')
            }
        }

        It 'stops the script in pwsh -NonInteractive, after writing the result' {
            $out = [System.Collections.Generic.List[object]]::new()
            $err = { Start-OnlineCoexistenceSync | ForEach-Object { $out.Add($_) } } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -BeLike 'DirSync.Run.stopped-server-down*'
            $err.CategoryInfo.Category | Should -Be 'OperationStopped'
            "$err" | Should -Match 'dc1.contoso.com could not be reached'
            $out[0].Status | Should -Be 'stopped-server-down'
        }

        It 'writes an error after the result at the prompt' {
            Mock Test-DirSyncNonInteractive -ModuleName DirSync { $false }
            $run = Start-OnlineCoexistenceSync -ErrorVariable failed -ErrorAction SilentlyContinue
            $run.Failed | Should -BeTrue
            @($failed).Count | Should -Be 1
            $failed[0].FullyQualifiedErrorId | Should -Be 'DirSync.Run.stopped-server-down,Start-OnlineCoexistenceSync'
        }

        It "carries the core's ErrorId, not one made from the status" {
            Mock Test-DirSyncNonInteractive -ModuleName DirSync { $false }
            Mock Invoke-DirSyncCore -ModuleName DirSync {
                New-CoreReply (New-CoreRunJson 'stopped-error' -Failed $true -ErrorId 'DirSync.Run.StateError')
            }
            $null = Start-OnlineCoexistenceSync -ErrorVariable failed -ErrorAction SilentlyContinue
            $failed[0].FullyQualifiedErrorId | Should -Be 'DirSync.Run.StateError,Start-OnlineCoexistenceSync'
        }
    }
}

Describe 'Start-OnlineCoexistenceSync -Confirm answered No' {
    # A child pwsh whose Confirm prompt reads the answer from stdin, the core replaced in the module's
    # scope (Pester's mocks do not cross processes): what an administrator sees typing N.
    BeforeAll {
        Mock Invoke-DirSyncCore -ModuleName DirSync { New-CoreReply (New-CoreRunJson) }
    }

    It 'does nothing and returns nothing, while -WhatIf stays the preview' {
        $script = @"
Import-Module '$(Join-Path $Root 'powershell/DirSync.psd1')' -Force
& (Get-Module DirSync) { function script:Invoke-DirSyncCore { param(`$Command, `$Arguments) "core called: preview=`$(`$Arguments.preview)" } }
`$out = @(Start-OnlineCoexistenceSync -Confirm)
"outputs: `$(`$out.Count) `$(`$out -join ';')"
"@
        $file = Join-Path ([System.IO.Path]::GetTempPath()) "confirm-no-$PID.ps1"
        Set-Content -Path $file -Value $script
        try {
            $answer = 'N' | & (Join-Path $PSHOME 'pwsh') -NoProfile -File $file 2>&1 | Out-String
        } finally { Remove-Item $file }
        $answer | Should -Match 'outputs: 0'
        $answer | Should -Not -Match 'core called'
        $null = Start-OnlineCoexistenceSync -WhatIf
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter { $Arguments.preview -eq $true }
    }
}
