# Contract of Start-CoexistenceConfigurationWizard, with the core mocked: every answer given as a
# parameter reaches the core flat, under its snake_case name (the core shapes it: wizard.sections).
BeforeAll {
    . (Join-Path $PSScriptRoot 'Contract.ps1')
    $script:Configuration = New-CoreConfigurationJson
    $script:Configured = @"
{"configuration": $Configuration, "serviceAccount": {"dn": "CN=MSOL_AD_SYNC,CN=Users,DC=contoso,DC=com", "user": "MSOL_AD_SYNC", "created": true},
 "schedule": $(New-CoreScheduleJson), "syncResult": $(New-CoreRunJson)}
"@
    $script:Admin = [pscredential]::new('CONTOSO\Administrator', (ConvertTo-SecureString 'Admin-Pass-1' -AsPlainText -Force))
    $script:Answers = @{
        TenantId = 'contoso.onmicrosoft.com'; ClientId = '11111111-2222-3333-4444-555555555555'
        DomainController = 'dc1.contoso.com'; EnterpriseAdminCredential = $Admin; ExchangeHybrid = $false; SynchronizeNow = $true
    }
}

Describe 'Start-CoexistenceConfigurationWizard' {
    BeforeAll {
        Mock Invoke-DirSyncCore -ModuleName DirSync {
            if ($Command -eq 'get-configuration') { New-CoreReply $Configuration } else { New-CoreReply $Configured }
        }
    }
    BeforeEach {
        Push-Location TestDrive:
        Set-Content 'dirsync.pem' 'certificate'
        Set-Content 'dirsync.key' 'key'
    }
    AfterEach { Pop-Location }

    It 'has a parameter for every answer, none mandatory, nothing from the pipeline' {
        Get-ParameterContract Start-CoexistenceConfigurationWizard | Should -Be @(
            'AuthorityHost [String]', 'CertificateFile [String]', 'CertificateKeyFile [String]', 'ClientId [String]',
            'ClientSecret [SecureString]', 'DomainController [String]', 'DomainControllerCAFile [String]',
            'EnterpriseAdminCredential [PSCredential]', 'ExchangeHybrid [Boolean]', 'GraphEndpoint [String]',
            'Port [Int32]', 'SynchronizeNow [Boolean]', 'TenantCAFile [String]', 'TenantId [String]', 'Transport [String]')
        $transport = (Get-Command Start-CoexistenceConfigurationWizard).Parameters.Transport.Attributes |
            Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] }
        $transport.ValidValues | Should -Be @('ldaps', 'starttls')
        { Start-CoexistenceConfigurationWizard @Answers -Transport 'ldap' } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Start-CoexistenceConfigurationWizard'
    }

    It 'sends the answers flat, with the certificate paths resolved from the current location' {
        $null = Start-CoexistenceConfigurationWizard @Answers -CertificateFile 'dirsync.pem' -CertificateKeyFile './dirsync.key' `
            -Port 389 -Transport starttls -AuthorityHost 'https://login.contoso.test'
        $folder = (Get-Location).ProviderPath
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'configure' -and
            $Arguments.tenant_id -eq 'contoso.onmicrosoft.com' -and $Arguments.client_id -eq '11111111-2222-3333-4444-555555555555' -and
            $Arguments.certificate_file -eq (Join-Path $folder 'dirsync.pem') -and
            $Arguments.certificate_key_file -eq (Join-Path $folder 'dirsync.key') -and -not $Arguments.client_secret -and
            $Arguments.authority_host -eq 'https://login.contoso.test' -and -not $Arguments.graph_endpoint -and
            $Arguments.domain_controller -eq 'dc1.contoso.com' -and $Arguments.port -eq 389 -and $Arguments.transport -eq 'starttls' -and
            $Arguments.admin_user -eq 'CONTOSO\Administrator' -and $Arguments.admin_password -eq 'Admin-Pass-1' -and
            $Arguments.exchange_hybrid -eq $false -and $Arguments.sync_now -eq $true
        }
    }

    It 'sends a client secret in clear to the core, and no certificate' {
        $secret = ConvertTo-SecureString 'app-secret' -AsPlainText -Force
        $null = Start-CoexistenceConfigurationWizard @Answers -ClientSecret $secret -CertificateFile 'dirsync.pem'
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'configure' -and $Arguments.client_secret -eq 'app-secret' -and -not $Arguments.certificate_file
        }
    }

    It 'names the parameter to give when an answer is missing in pwsh -NonInteractive' {
        $given = $Answers.Clone()
        $given.Remove('TenantId')
        $err = { Start-CoexistenceConfigurationWizard @given -CertificateFile 'dirsync.pem' } | Should -Throw -PassThru
        "$err" | Should -Match 'Give -TenantId'
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 0 -Exactly -ParameterFilter { $Command -eq 'configure' }
    }

    It 'configures nothing with -WhatIf, and asks nothing with -Confirm:$false' {
        Start-CoexistenceConfigurationWizard @Answers -CertificateFile 'dirsync.pem' -WhatIf | Should -BeNullOrEmpty
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 0 -Exactly -ParameterFilter { $Command -eq 'configure' }
        $null = Start-CoexistenceConfigurationWizard @Answers -CertificateFile 'dirsync.pem' -Confirm:$false
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter { $Command -eq 'configure' }
    }

    It 'runs on a first configuration too, when there is none to offer as defaults' {
        Mock Invoke-DirSyncCore -ModuleName DirSync {
            if ($Command -eq 'get-configuration') { throw 'DirSync is not configured yet' } else { New-CoreReply $Configured }
        }
        $result = Start-CoexistenceConfigurationWizard @Answers -CertificateFile 'dirsync.pem'
        $result.ServiceAccount.User | Should -Be 'MSOL_AD_SYNC'
    }

    It 'returns DirSync.ConfigurationWizardResult with the typed configuration, schedule and first run' {
        $result = Start-CoexistenceConfigurationWizard @Answers -CertificateFile 'dirsync.pem'
        $result.PSObject.TypeNames[0] | Should -Be 'DirSync.ConfigurationWizardResult'
        $result.Configuration.PSObject.TypeNames[0] | Should -Be 'DirSync.CoexistenceConfiguration'
        $result.Schedule.PSObject.TypeNames[0] | Should -Be 'DirSync.CoexistenceSyncSchedule'
        $result.Schedule.Interval | Should -Be ([timespan]::FromHours(3))
        $result.SyncResult.PSObject.TypeNames[0] | Should -Be 'DirSync.RunResult'
        $result.SyncResult.StartTime.Kind | Should -Be 'Utc'
        $result.ServiceAccount.Created | Should -BeTrue
    }
}
