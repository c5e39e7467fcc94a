# Contract of Set-PreventAccidentalDeletes, with the core mocked.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Contract.ps1')
    $script:Reply = New-CoreConfigurationJson
}

Describe 'Set-PreventAccidentalDeletes' {
    BeforeAll {
        Mock Invoke-DirSyncCore -ModuleName DirSync { New-CoreReply $Reply }
    }

    It 'takes -Enable (with a threshold) or -Disable, in two parameter sets' {
        Get-ParameterContract Set-PreventAccidentalDeletes | Should -Be @(
            'Disable [SwitchParameter] mandatory in Disable', 'Enable [SwitchParameter] mandatory in Enable',
            'ObjectDeletionPercentage [Double]', 'ObjectDeletionThreshold [Double]', 'PassThru [SwitchParameter]')
        $command = Get-Command Set-PreventAccidentalDeletes
        $command.DefaultParameterSet | Should -Be 'Enable'
        $command.Parameters.ObjectDeletionThreshold.ParameterSets.Keys | Should -Be 'Enable'
        $command.Parameters.ObjectDeletionPercentage.ParameterSets.Keys | Should -Be 'Enable'
        { Set-PreventAccidentalDeletes -Disable -ObjectDeletionThreshold 5 } | Should -Throw -ErrorId 'AmbiguousParameterSet,Set-PreventAccidentalDeletes'
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 0 -Exactly
    }

    It 'sends -Enable -ObjectDeletionThreshold flat' {
        Set-PreventAccidentalDeletes -Enable -ObjectDeletionThreshold 250
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'set-configuration' -and $Arguments.Count -eq 2 -and
            $Arguments.prevent_accidental_deletes -eq $true -and $Arguments.object_deletion_threshold -eq 250
        }
    }

    It 'sends -ObjectDeletionPercentage flat, beside the threshold' {
        Set-PreventAccidentalDeletes -Enable -ObjectDeletionThreshold 250 -ObjectDeletionPercentage 25
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Arguments.Count -eq 3 -and $Arguments.object_deletion_threshold -eq 250 -and
            $Arguments.object_deletion_percentage -eq 25
        }
    }

    It 'sends 1.5 as 1.5, for the core to refuse, never rounded to 2' {
        Set-PreventAccidentalDeletes -Enable -ObjectDeletionThreshold 1.5 -ObjectDeletionPercentage 2.5
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            (ConvertTo-Json $Arguments.object_deletion_threshold) -eq '1.5' -and
            (ConvertTo-Json $Arguments.object_deletion_percentage) -eq '2.5'
        }
    }

    It 'sends -Enable alone without a threshold, which stays as it is' {
        Set-PreventAccidentalDeletes -Enable
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Arguments.Count -eq 1 -and $Arguments.prevent_accidental_deletes -eq $true
        }
    }

    It 'sends -Disable' {
        Set-PreventAccidentalDeletes -Disable
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'set-configuration' -and $Arguments.Count -eq 1 -and $Arguments.prevent_accidental_deletes -eq $false
        }
    }

    It 'changes nothing with -WhatIf, and asks nothing with -Confirm:$false' {
        Set-PreventAccidentalDeletes -Disable -WhatIf
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 0 -Exactly
        Set-PreventAccidentalDeletes -Disable -Confirm:$false
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly
    }

    It 'returns nothing, or DirSync.PreventAccidentalDeletes with -PassThru' {
        Set-PreventAccidentalDeletes -Enable | Should -BeNullOrEmpty
        $protection = Set-PreventAccidentalDeletes -Enable -PassThru
        $protection.PSObject.TypeNames[0] | Should -Be 'DirSync.PreventAccidentalDeletes'
        $protection.ObjectDeletionThreshold | Should -Be 500
        $protection.ObjectDeletionPercentage | Should -Be 10
    }
}
