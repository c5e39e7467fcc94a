# Contract of Set-CoexistenceConfiguration, with the core mocked.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Contract.ps1')
    $script:Reply = New-CoreConfigurationJson
}

Describe 'Set-CoexistenceConfiguration' {
    BeforeAll {
        Mock Invoke-DirSyncCore -ModuleName DirSync { New-CoreReply $Reply }
    }

    It 'takes the synchronization settings by name, nothing from the pipeline, nothing mandatory' {
        Get-ParameterContract Set-CoexistenceConfiguration | Should -Be @(
            'CredentialExpiryWarningDays [Int32]', 'ExchangeHybrid [Boolean]', 'ExcludeOUs [String[]]', 'ExclusionAttribute [String]',
            'FailedRunsInARow [Int32]', 'IncludeOUs [String[]]', 'NotificationRecipients [String[]]', 'NotificationSender [String]',
            'PassThru [SwitchParameter]', 'Proxy [String]', 'SmtpCaFile [String]', 'SmtpCredential [PSCredential]', 'SmtpPort [Int32]',
            'SmtpSecurity [String]', 'SmtpServer [String]', 'SoftMatch [Boolean]', 'StagingMode [Boolean]', 'SystemLog [Boolean]',
            'SystemLogAddress [String]', 'SystemLogFacility [String]')
        (Get-Command Set-CoexistenceConfiguration).Parameters.Keys | Should -Contain 'WhatIf'
    }

    It 'sends only the settings given, flat, under their snake_case names' {
        Set-CoexistenceConfiguration -IncludeOUs 'OU=Staff,DC=contoso,DC=com', 'OU=IT,DC=contoso,DC=com' -StagingMode $true -Proxy ''
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'set-configuration' -and $Arguments.Count -eq 3 -and
            ($Arguments.include_ous -join '|') -eq 'OU=Staff,DC=contoso,DC=com|OU=IT,DC=contoso,DC=com' -and
            $Arguments.staging_mode -eq $true -and $Arguments.proxy -eq ''
        }
    }

    It 'sends every setting it has' {
        Set-CoexistenceConfiguration -IncludeOUs @() -ExcludeOUs 'OU=Leavers,DC=contoso,DC=com' -ExclusionAttribute '' `
            -StagingMode $false -SoftMatch $true -Proxy 'http://proxy.contoso.com:8080' -ExchangeHybrid $true
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'set-configuration' -and $Arguments.Count -eq 7 -and
            @($Arguments.include_ous).Count -eq 0 -and $Arguments.exclude_ous -eq 'OU=Leavers,DC=contoso,DC=com' -and
            $Arguments.exclusion_attribute -eq '' -and $Arguments.staging_mode -eq $false -and $Arguments.soft_match -eq $true -and
            $Arguments.proxy -eq 'http://proxy.contoso.com:8080' -and $Arguments.exchange_hybrid -eq $true
        }
    }

    It 'sends -CredentialExpiryWarningDays as credential_expiry_warning_days, 1 to 365 days' {
        Set-CoexistenceConfiguration -CredentialExpiryWarningDays 60
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            (ConvertTo-Json $Arguments -Compress) -eq '{"credential_expiry_warning_days":60}'
        }
        foreach ($days in 0, 366) {
            { Set-CoexistenceConfiguration -CredentialExpiryWarningDays $days } |
                Should -Throw -ErrorId 'ParameterArgumentValidationError,Set-CoexistenceConfiguration'
        }
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly
    }

    It 'sends the notification and system log settings under their snake_case names' {
        Set-CoexistenceConfiguration -SmtpServer smtp.contoso.com -SmtpPort 465 -SmtpSecurity tls -SmtpCaFile /etc/ssl/contoso-ca.pem `
            -NotificationSender dirsync@contoso.com -NotificationRecipients admin@contoso.com -FailedRunsInARow 5 `
            -SystemLog $true -SystemLogAddress udp://syslog.contoso.com:514 -SystemLogFacility local3
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'set-configuration' -and $Arguments.Count -eq 10 -and $Arguments.smtp_server -eq 'smtp.contoso.com' -and
            $Arguments.smtp_port -eq 465 -and $Arguments.smtp_security -eq 'tls' -and $Arguments.smtp_ca_file -eq '/etc/ssl/contoso-ca.pem' -and
            $Arguments.notification_sender -eq 'dirsync@contoso.com' -and (ConvertTo-Json $Arguments.notification_recipients -Compress) -eq '["admin@contoso.com"]' -and
            $Arguments.failed_runs_in_a_row -eq 5 -and $Arguments.system_log -eq $true -and
            $Arguments.system_log_address -eq 'udp://syslog.contoso.com:514' -and $Arguments.system_log_facility -eq 'local3'
        }
        { Set-CoexistenceConfiguration -SmtpSecurity none } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Set-CoexistenceConfiguration'
    }

    It 'sends -SmtpCredential as a user name and a password for the secrets store, and never shows the password' {
        $credential = [pscredential]::new('dirsync-mailer', (ConvertTo-SecureString 'Smtp-Passw0rd-9' -AsPlainText -Force))
        $shown = Get-HostText { Set-CoexistenceConfiguration -SmtpCredential $credential -WhatIf -Verbose 4>&1 }
        "$shown" | Should -Match 'SmtpCredential: dirsync-mailer \(password \*\*\*\)'
        "$shown" | Should -Not -Match 'Smtp-Passw0rd-9'
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 0 -Exactly
        Set-CoexistenceConfiguration -SmtpCredential $credential
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Arguments.Count -eq 2 -and $Arguments.smtp_username -eq 'dirsync-mailer' -and $Arguments.smtp_password -eq 'Smtp-Passw0rd-9'
        }
        Set-CoexistenceConfiguration -SmtpCredential ([pscredential]::Empty)
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Arguments.Count -eq 2 -and $Arguments.smtp_username -eq '' -and $Arguments.smtp_password -eq ''
        }
    }

    It 'sends the lists as JSON arrays, even of one OU' {
        Set-CoexistenceConfiguration -IncludeOUs 'OU=Staff,DC=contoso,DC=com'
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            (ConvertTo-Json $Arguments -Compress) -eq '{"include_ous":["OU=Staff,DC=contoso,DC=com"]}'
        }
    }

    It 'changes nothing with -WhatIf' {
        Set-CoexistenceConfiguration -SoftMatch $true -WhatIf
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 0 -Exactly
    }

    It 'asks no question with -Confirm:$false' {
        Set-CoexistenceConfiguration -SoftMatch $true -Confirm:$false
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter { $Command -eq 'set-configuration' }
    }

    It 'warns and calls nothing when no setting is given' {
        Set-CoexistenceConfiguration -WarningVariable warned -WarningAction SilentlyContinue
        "$warned" | Should -Match 'No setting was given'
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 0 -Exactly
    }

    It 'returns nothing, or DirSync.CoexistenceConfiguration with -PassThru' {
        Set-CoexistenceConfiguration -SoftMatch $true | Should -BeNullOrEmpty
        $config = Set-CoexistenceConfiguration -SoftMatch $true -PassThru
        $config.PSObject.TypeNames[0] | Should -Be 'DirSync.CoexistenceConfiguration'
        $config.Sync.IntervalMinutes | Should -Be 180
    }
}
