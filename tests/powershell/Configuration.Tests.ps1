# Set-CoexistenceConfiguration and the accidental-delete protection cmdlets.
BeforeAll {
    $script:Root = Resolve-Path (Join-Path $PSScriptRoot '../..')
    $script:Home0 = Join-Path ([IO.Path]::GetTempPath()) "dirsync-pester-config-$PID"
    $env:DIRSYNC_HOME = $Home0
    Import-Module (Join-Path $Root 'powershell/DirSync.psd1') -Force
    $script:ConfigFile = Join-Path $Home0 'dirsync.json'
}

AfterAll {
    Remove-Item -Recurse -Force $Home0 -ErrorAction SilentlyContinue
    Remove-Item Env:DIRSYNC_HOME -ErrorAction SilentlyContinue
}

Describe 'Configuration cmdlets' {
    BeforeEach {
        Remove-Item -Recurse -Force $Home0 -ErrorAction SilentlyContinue
        New-Item -ItemType Directory $Home0 | Out-Null
        Set-Content $ConfigFile '{}'
    }

Describe 'Set-CoexistenceConfiguration' {
    It 'changes only the settings given and keeps them' {
        Set-CoexistenceConfiguration -IncludeOUs 'OU=Staff,DC=contoso,DC=com' -StagingMode $true
        $config = Get-CoexistenceConfiguration
        $config.Sync.IncludeOUs | Should -Be 'OU=Staff,DC=contoso,DC=com'
        $config.Sync.StagingMode | Should -BeTrue
        $config.Sync.ExclusionAttribute | Should -Be 'extensionAttribute15=NoSync'
        (Get-Content $ConfigFile -Raw | ConvertFrom-Json).sync.stagingMode | Should -BeTrue
    }

    It 'returns the configuration with -PassThru' {
        $config = Set-CoexistenceConfiguration -Proxy 'http://proxy.contoso.com:8080' -PassThru
        $config.PSObject.TypeNames[0] | Should -Be 'DirSync.CoexistenceConfiguration'
        $config.Tenant.Proxy | Should -Be 'http://proxy.contoso.com:8080'
    }

    It 'changes nothing with -WhatIf' {
        $before = Get-FileHash $ConfigFile
        Set-CoexistenceConfiguration -StagingMode $true -WhatIf
        (Get-FileHash $ConfigFile).Hash | Should -Be $before.Hash
    }

    It 'refuses an invalid OU by name and leaves the file untouched' {
        $before = Get-FileHash $ConfigFile
        $err = { Set-CoexistenceConfiguration -IncludeOUs 'Staff' } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be 'DirSync.InvalidArgument,Set-CoexistenceConfiguration'
        "$err" | Should -Match "'Staff' is not a distinguished name.*Nothing was changed"
        (Get-FileHash $ConfigFile).Hash | Should -Be $before.Hash
    }

    It 'keeps the SMTP password in the secrets store, never in the file, and refuses e-mail with no recipient' {
        $credential = [pscredential]::new('dirsync-mailer', (ConvertTo-SecureString 'Smtp-Passw0rd-5' -AsPlainText -Force))
        $before = Get-FileHash $ConfigFile
        $err = { Set-CoexistenceConfiguration -SmtpServer smtp.contoso.com -NotificationSender dirsync@contoso.com } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be 'DirSync.InvalidArgument,Set-CoexistenceConfiguration'
        "$err" | Should -Match 'need recipients; nothing was changed.*-NotificationRecipients'
        (Get-FileHash $ConfigFile).Hash | Should -Be $before.Hash
        Set-CoexistenceConfiguration -SmtpServer smtp.contoso.com -NotificationSender dirsync@contoso.com `
            -NotificationRecipients admin@contoso.com -SmtpCredential $credential
        $config = Get-CoexistenceConfiguration
        $config.Notifications.SmtpUsername | Should -Be 'dirsync-mailer'
        $config.Notifications.Recipients | Should -Be 'admin@contoso.com'
        Get-Content $ConfigFile -Raw | Should -Not -Match 'Smtp-Passw0rd-5'
        Get-Content (Join-Path $Home0 'secrets/smtp-password') -Raw | Should -Be 'Smtp-Passw0rd-5'
        Set-CoexistenceConfiguration -SmtpCredential ([pscredential]::Empty)
        Test-Path (Join-Path $Home0 'secrets/smtp-password') | Should -BeFalse
    }

    It 'says there is no configuration yet, and creates none' {
        Remove-Item $ConfigFile
        $err = { Set-CoexistenceConfiguration -StagingMode $true } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be 'DirSync.NotConfigured,Set-CoexistenceConfiguration'
        Test-Path $ConfigFile | Should -BeFalse
    }
}

Describe 'Send-CoexistenceTestNotification' {
    BeforeAll {
        # A real SMTP server (aiosmtpd, STARTTLS, sign-in required) that writes each message it takes to a file.
        $script:Mailbox = Join-Path $Home0 '../dirsync-pester-mailbox'
        New-Item -ItemType Directory -Force $Mailbox | Out-Null
        $info = [System.Diagnostics.ProcessStartInfo]::new('/usr/bin/python3')
        foreach ($argument in (Join-Path $Root 'tests/python/listeners.py'), $Mailbox, 'dirsync-mailer', 'Smtp-Passw0rd-6') { $info.ArgumentList.Add($argument) }
        $info.Environment['PYTHONPATH'] = "$(Join-Path $Root 'lab'):$(Join-Path $Root 'python')"
        $info.RedirectStandardInput = $true
        $info.RedirectStandardOutput = $true
        $script:Smtp = [System.Diagnostics.Process]::Start($info)
        $script:Server = $Smtp.StandardOutput.ReadLine() | ConvertFrom-Json  # once it answers
    }

    AfterAll {
        $Smtp.StandardInput.Close()
        $Smtp.WaitForExit()
        Remove-Item -Recurse -Force $Mailbox -ErrorAction SilentlyContinue
    }

    It 'sends one message through the configured server to every recipient, and says where it went' {
        Set-CoexistenceConfiguration -SmtpServer localhost -SmtpPort $Server.port -SmtpCaFile $Server.caFile `
            -SmtpCredential ([pscredential]::new('dirsync-mailer', (ConvertTo-SecureString 'Smtp-Passw0rd-6' -AsPlainText -Force))) `
            -NotificationSender dirsync@dirsync.test -NotificationRecipients admin@dirsync.test, oncall@dirsync.test
        $sent = Send-CoexistenceTestNotification
        $sent.PSObject.TypeNames[0] | Should -Be 'DirSync.TestNotificationResult'
        $sent.Recipients | Should -Be @('admin@dirsync.test', 'oncall@dirsync.test')
        $mail = Get-Content (Join-Path $Mailbox 'mail-1.eml') -Raw
        $mail | Should -Match 'Subject: DirSync on .*: test notification'
        $mail | Should -Match 'To: admin@dirsync.test, oncall@dirsync.test'
    }

    It 'fails with what to change when the server refuses the password, which it never shows' {
        Set-CoexistenceConfiguration -SmtpServer localhost -SmtpPort $Server.port -SmtpCaFile $Server.caFile `
            -SmtpCredential ([pscredential]::new('dirsync-mailer', (ConvertTo-SecureString 'Wr0ng-Passw0rd' -AsPlainText -Force))) `
            -NotificationSender dirsync@dirsync.test -NotificationRecipients admin@dirsync.test
        $err = { Send-CoexistenceTestNotification } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be 'DirSync.NotificationFailed,Send-CoexistenceTestNotification'
        "$err" | Should -Match 'refused the user name or password of dirsync-mailer.*-SmtpCredential'
        "$err" | Should -Not -Match 'Wr0ng-Passw0rd'
    }
}

Describe 'Get-PreventAccidentalDeletes and Set-PreventAccidentalDeletes' {
    It 'is on at 500 by default' {
        $protection = Get-PreventAccidentalDeletes
        $protection.PSObject.TypeNames[0] | Should -Be 'DirSync.PreventAccidentalDeletes'
        $protection.Enabled | Should -BeTrue
        $protection.ObjectDeletionThreshold | Should -Be 500
    }

    It 'sets a threshold, turns off and on again keeping the threshold' {
        Set-PreventAccidentalDeletes -Enable -ObjectDeletionThreshold 1000
        (Get-PreventAccidentalDeletes).ObjectDeletionThreshold | Should -Be 1000
        Set-PreventAccidentalDeletes -Disable
        (Get-PreventAccidentalDeletes).Enabled | Should -BeFalse
        $protection = Set-PreventAccidentalDeletes -Enable -PassThru
        $protection.Enabled | Should -BeTrue
        $protection.ObjectDeletionThreshold | Should -Be 1000
    }

    It 'refuses a threshold of <Threshold> and changes nothing' -ForEach @(@{ Threshold = 0 }, @{ Threshold = -5 }) {
        $before = Get-FileHash $ConfigFile
        $err = { Set-PreventAccidentalDeletes -Enable -ObjectDeletionThreshold $Threshold } | Should -Throw -PassThru
        "$err" | Should -Match "objectDeletionThreshold' must be between 1 and 1000000"
        (Get-FileHash $ConfigFile).Hash | Should -Be $before.Hash
    }

    It 'does not take -Enable and -Disable together' {
        { Set-PreventAccidentalDeletes -Enable -Disable } | Should -Throw -ErrorId 'AmbiguousParameterSet,Set-PreventAccidentalDeletes'
    }
}
}
