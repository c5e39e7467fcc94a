# Contract of Update-CoexistenceCredential, with the core mocked.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Contract.ps1')
    $script:Rotated = '{"appId": "99999999-8888-7777-6666-555555555555", "certificateThumbprint": "NEW1",
        "certificateExpires": "2028-01-02T03:04:05.250Z", "removedThumbprints": ["OLD1"]}'
    $script:Preview = '{"whatIf": [
        {"action": "add", "target": "certificate made here to DirSync DC1", "description": "new key"},
        {"action": "remove", "target": "certificate OLD1 of DirSync DC1", "description": "old key"}]}'
}

Describe 'Update-CoexistenceCredential' {
    BeforeAll {
        Mock Invoke-DirSyncCore -ModuleName DirSync { if ($Arguments.what_if) { New-CoreReply $Preview } else { New-CoreReply $Rotated } }
    }

    It 'takes no parameter of its own, and supports -WhatIf and -Confirm at ConfirmImpact Medium' {
        Get-ParameterContract Update-CoexistenceCredential | Should -BeNullOrEmpty
        $command = Get-Command Update-CoexistenceCredential
        $command.Parameters.Keys | Should -Contain 'WhatIf'
        $command.Parameters.Keys | Should -Contain 'Confirm'
        $binding = $command.ScriptBlock.Attributes | Where-Object { $_ -is [System.Management.Automation.CmdletBindingAttribute] }
        $binding.ConfirmImpact | Should -Be 'Medium'
        $command.OutputType.Name | Should -Be 'DirSync.CredentialUpdateResult'
    }

    It 'rotates through the core''s update-credential' {
        $null = Update-CoexistenceCredential
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'update-credential' -and $Arguments.Count -eq 1 -and $Arguments.what_if -eq $false
        }
    }

    It 'returns DirSync.CredentialUpdateResult: the new thumbprint, its expiry as UTC [datetime], the removed ones as a list' {
        $result = Update-CoexistenceCredential
        $result.PSObject.TypeNames[0] | Should -Be 'DirSync.CredentialUpdateResult'
        $result.AppId | Should -Be '99999999-8888-7777-6666-555555555555'
        $result.CertificateThumbprint | Should -Be 'NEW1'
        $result.CertificateExpires | Should -Be ([datetime]::new(2028, 1, 2, 3, 4, 5, 250, [DateTimeKind]::Utc))
        $result.CertificateExpires.Kind | Should -Be 'Utc'
        , $result.RemovedThumbprints | Should -BeOfType [object[]]
        $result.RemovedThumbprints | Should -Be @('OLD1')
        ($result | Out-String) | Should -Match 'RemovedThumbprints\s*:\s*OLD1'
    }

    It 'with -WhatIf lists each step the core would take as "What if:", and rotates nothing' {
        $shown = Get-HostText { Update-CoexistenceCredential -WhatIf | Should -BeNullOrEmpty }
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter { $Arguments.what_if -eq $true }
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 0 -Exactly -ParameterFilter { $Arguments.what_if -eq $false }
        $shown | Should -Contain 'What if: Performing the operation "add" on target "certificate made here to DirSync DC1".'
        $shown | Should -Contain 'What if: Performing the operation "remove" on target "certificate OLD1 of DirSync DC1".'
    }

    It 'asks nothing with -Confirm:$false' {
        $null = Update-CoexistenceCredential -Confirm:$false
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter { $Arguments.what_if -eq $false }
    }
}
