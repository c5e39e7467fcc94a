# Contract of Send-CoexistenceTestNotification, with the core mocked.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Contract.ps1')
    $script:Sent = '{"sent": true, "server": "smtp.contoso.com", "port": 587, "security": "starttls",
        "sender": "dirsync@contoso.com", "recipients": ["admin@contoso.com"]}'
}

Describe 'Send-CoexistenceTestNotification' {
    BeforeAll {
        Mock Invoke-DirSyncCore -ModuleName DirSync { New-CoreReply $Sent }
    }

    It 'takes no parameter of its own, and supports -WhatIf at ConfirmImpact Low' {
        Get-ParameterContract Send-CoexistenceTestNotification | Should -BeNullOrEmpty
        $command = Get-Command Send-CoexistenceTestNotification
        $command.Parameters.Keys | Should -Contain 'WhatIf'
        $binding = $command.ScriptBlock.Attributes | Where-Object { $_ -is [System.Management.Automation.CmdletBindingAttribute] }
        $binding.ConfirmImpact | Should -Be 'Low'
        $command.OutputType.Name | Should -Be 'DirSync.TestNotificationResult'
    }

    It 'sends through the core''s send-test-notification and returns where the message went' {
        $result = Send-CoexistenceTestNotification
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter { $Command -eq 'send-test-notification' }
        $result.PSObject.TypeNames[0] | Should -Be 'DirSync.TestNotificationResult'
        $result.Sent | Should -BeTrue
        $result.Server | Should -Be 'smtp.contoso.com'
        , $result.Recipients | Should -BeOfType [object[]]
        $result.Recipients | Should -Be @('admin@contoso.com')
    }

    It 'sends nothing with -WhatIf' {
        Send-CoexistenceTestNotification -WhatIf | Should -BeNullOrEmpty
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 0 -Exactly
    }
}
