# Contract of Start-CoexistenceConfigurationWizard, with the core mocked: every answer given as a
# parameter reaches the core flat, under its snake_case name (the core shapes it: wizard.sections).
# Two ways to page 1: the administrator signs in and DirSync makes its own app (parameter set SignIn, the
# default), or an app the organization registered (OwnApp, -ClientId).
BeforeAll {
    . (Join-Path $PSScriptRoot 'Contract.ps1')
    $script:Configuration = New-CoreConfigurationJson
    $script:Configured = @"
{"configuration": $Configuration, "cloudIdentity": null,
 "serviceAccount": {"dn": "CN=MSOL_AD_SYNC,CN=Users,DC=contoso,DC=com", "user": "MSOL_AD_SYNC", "created": true},
 "schedule": $(New-CoreScheduleJson), "syncResult": $(New-CoreRunJson)}
"@
    # What the core adds on the sign-in path: the app it made or found (wizard page 1).
    $script:Identity = '{"appId": "99999999-8888-7777-6666-555555555555", "objectId": "o-1", "displayName": "DirSync DC1",
        "uniqueName": "dirsync-dc1", "servicePrincipalId": "sp-1", "certificateThumbprint": "AB12CD34",
        "certificateExpires": "2028-01-02T03:04:05.500Z", "created": true,
        "permissions": ["Organization.Read.All", "User.ReadWrite.All", "Group.ReadWrite.All", "Application.ReadWrite.OwnedBy"]}'
    $script:Preview = '{"signedInAs": "admin@contoso.com", "tenantId": "t-1", "whatIf": [
        {"action": "create", "target": "app registration DirSync DC1", "description": "single tenant"},
        {"action": "grant", "target": "User.ReadWrite.All to DirSync DC1", "description": "app role assignment"}]}'

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

    It 'has a parameter for every answer, only -ClientId mandatory (for an app you registered), nothing from the pipeline' {
        Get-ParameterContract Start-CoexistenceConfigurationWizard | Should -Be @(
            'AuthorityHost [String]', 'CertificateFile [String]', 'CertificateKeyFile [String]', 'ClientId [String] mandatory in OwnApp',
            'ClientSecret [SecureString]', 'DomainController [String]', 'DomainControllerCAFile [String]',
            'EnterpriseAdminCredential [PSCredential]', 'ExchangeHybrid [Boolean]', 'GraphEndpoint [String]',
            'Port [Int32]', 'SynchronizeNow [Boolean]', 'TenantCAFile [String]', 'TenantId [String]', 'Transport [String]',
            'UseDeviceCode [SwitchParameter]')
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
        $result.CloudIdentity | Should -BeNullOrEmpty  # an app you registered: DirSync made none
    }

    It 'puts -ClientId and -UseDeviceCode, and the app''s credentials, in their own parameter sets' {
        $command = Get-Command Start-CoexistenceConfigurationWizard
        $command.DefaultParameterSet | Should -Be 'SignIn'
        @($command.ParameterSets.Name | Sort-Object) | Should -Be @('OwnApp', 'SignIn')
        @($command.Parameters.UseDeviceCode.ParameterSets.Keys) | Should -Be @('SignIn')
        foreach ($name in 'ClientId', 'CertificateFile', 'CertificateKeyFile', 'ClientSecret') {
            @($command.Parameters[$name].ParameterSets.Keys) | Should -Be @('OwnApp') -Because "-$name is for an app you registered"
        }
        foreach ($name in 'TenantId', 'AuthorityHost', 'GraphEndpoint', 'TenantCAFile', 'DomainController', 'EnterpriseAdminCredential') {
            @($command.Parameters[$name].ParameterSets.Keys) | Should -Be @('__AllParameterSets') -Because "-$name is for both"
        }
        { Start-CoexistenceConfigurationWizard @Answers -UseDeviceCode } | Should -Throw -ErrorId 'AmbiguousParameterSet,Start-CoexistenceConfigurationWizard'
    }
}

Describe 'Start-CoexistenceConfigurationWizard: an administrator signs in and DirSync makes its own app' {
    BeforeAll {
        Mock Invoke-DirSyncCore -ModuleName DirSync {
            if ($Command -eq 'get-configuration') { return New-CoreReply $Configuration }
            if ($Arguments.what_if) { return New-CoreReply $Preview }
            $reply = New-CoreReply $Configured
            $reply.cloudIdentity = New-CoreReply $Identity
            $reply
        }
        $script:Directory = @{
            DomainController = 'dc1.contoso.com'; EnterpriseAdminCredential = $Admin; ExchangeHybrid = $false; SynchronizeNow = $true
        }
    }
    BeforeEach { Push-Location TestDrive: }
    AfterEach { Pop-Location }

    It 'with -UseDeviceCode asks for no tenant, no app and no certificate, and sends none' {
        $null = Start-CoexistenceConfigurationWizard @Directory -UseDeviceCode
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'configure' -and $Arguments.use_device_code -eq $true -and -not $Arguments.what_if -and
            -not $Arguments.tenant_id -and -not $Arguments.ContainsKey('client_id') -and
            -not $Arguments.ContainsKey('certificate_file') -and -not $Arguments.ContainsKey('client_secret') -and
            $Arguments.domain_controller -eq 'dc1.contoso.com' -and $Arguments.admin_password -eq 'Admin-Pass-1'
        }
    }

    It 'with -UseDeviceCode:$false signs in with a browser, without the question' {
        Mock Read-WizardChoice -ModuleName DirSync { throw 'no question expected' }
        $null = Start-CoexistenceConfigurationWizard @Directory -UseDeviceCode:$false
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'configure' -and $Arguments.use_device_code -eq $false
        }
    }

    It 'sends -TenantId and the sign-in endpoints as given, the CA file resolved from the current location' {
        Set-Content 'ca.pem' 'ca'
        $null = Start-CoexistenceConfigurationWizard @Directory -UseDeviceCode -TenantId 'contoso.onmicrosoft.com' `
            -AuthorityHost 'https://login.contoso.test' -GraphEndpoint 'https://graph.contoso.test' -TenantCAFile 'ca.pem'
        $ca = Join-Path (Get-Location).ProviderPath 'ca.pem'
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'configure' -and $Arguments.tenant_id -eq 'contoso.onmicrosoft.com' -and
            $Arguments.authority_host -eq 'https://login.contoso.test' -and $Arguments.graph_endpoint -eq 'https://graph.contoso.test' -and
            $Arguments.tenant_ca_file -eq $ca
        }
    }

    It 'names -UseDeviceCode and -ClientId in pwsh -NonInteractive when neither is given, and configures nothing' {
        $err = { Start-CoexistenceConfigurationWizard @Directory } | Should -Throw -PassThru
        "$err" | Should -Match 'Give -UseDeviceCode or -ClientId'
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 0 -Exactly -ParameterFilter { $Command -eq 'configure' }
    }

    It 'asks at the prompt how DirSync gets its cloud identity, "Sign in as an administrator" first and the default' {
        Mock Read-WizardChoice -ModuleName DirSync { $Default }
        $null = Start-CoexistenceConfigurationWizard @Directory
        Should -Invoke Read-WizardChoice -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Page -eq 'Microsoft 365' -and $Question -match 'cloud identity' -and $Default -eq 0 -and
            $Choices[0] -match 'Sign in as an administrator' -and $Choices[1] -match 'Use an app I registered'
        }
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'configure' -and $Arguments.use_device_code -eq $false -and -not $Arguments.ContainsKey('client_id')
        }
    }

    It 'asks the questions of an app you registered when that is the answer' {
        Set-Content 'dirsync.pem' 'certificate'
        Set-Content 'dirsync.key' 'key'
        Mock Read-WizardChoice -ModuleName DirSync { if ($Question -match 'cloud identity') { 1 } else { 0 } }
        Mock Read-WizardAnswer -ModuleName DirSync {
            @{ TenantId = 'contoso.onmicrosoft.com'; ClientId = '11111111-2222-3333-4444-555555555555'
               CertificateFile = 'dirsync.pem'; CertificateKeyFile = 'dirsync.key' }[$Parameter]
        }
        $null = Start-CoexistenceConfigurationWizard @Directory
        $folder = (Get-Location).ProviderPath
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'configure' -and $Arguments.tenant_id -eq 'contoso.onmicrosoft.com' -and
            $Arguments.client_id -eq '11111111-2222-3333-4444-555555555555' -and
            $Arguments.certificate_file -eq (Join-Path $folder 'dirsync.pem') -and -not $Arguments.ContainsKey('use_device_code')
        }
    }

    It 'with -WhatIf signs in, shows each change the core would make as "What if:", and changes nothing' {
        $shown = Get-HostText { Start-CoexistenceConfigurationWizard @Directory -UseDeviceCode -WhatIf | Should -BeNullOrEmpty }
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter {
            $Command -eq 'configure' -and $Arguments.what_if -eq $true -and $Arguments.use_device_code -eq $true
        }
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 0 -Exactly -ParameterFilter { $Command -eq 'configure' -and -not $Arguments.what_if }
        $shown | Should -Contain 'What if: Performing the operation "create" on target "app registration DirSync DC1".'
        $shown | Should -Contain 'What if: Performing the operation "grant" on target "User.ReadWrite.All to DirSync DC1".'
        $shown | Should -Contain 'What if: Performing the operation "Configure directory synchronization" on target "tenant t-1 and domain controller dc1.contoso.com".'
    }

    It 'configures with -Confirm:$false, and asks nothing more' {
        $null = Start-CoexistenceConfigurationWizard @Directory -UseDeviceCode -Confirm:$false
        Should -Invoke Invoke-DirSyncCore -ModuleName DirSync -Times 1 -Exactly -ParameterFilter { $Command -eq 'configure' -and -not $Arguments.what_if }
    }

    It 'returns the app DirSync made as DirSync.CloudIdentity, its certificate''s expiry a UTC [datetime], and shows it' {
        $result = Start-CoexistenceConfigurationWizard @Directory -UseDeviceCode
        $result.PSObject.TypeNames[0] | Should -Be 'DirSync.ConfigurationWizardResult'
        $result.CloudIdentity.PSObject.TypeNames[0] | Should -Be 'DirSync.CloudIdentity'
        $result.CloudIdentity.AppId | Should -Be '99999999-8888-7777-6666-555555555555'
        $result.CloudIdentity.ServicePrincipalId | Should -Be 'sp-1'
        $result.CloudIdentity.CertificateExpires | Should -Be ([datetime]::new(2028, 1, 2, 3, 4, 5, 500, [DateTimeKind]::Utc))
        $result.CloudIdentity.CertificateExpires.Kind | Should -Be 'Utc'
        $result.CloudIdentity.Created | Should -BeTrue
        @($result.CloudIdentity.Permissions).Count | Should -Be 4
        $view = $result | Out-String
        $view | Should -Match 'DirSync DC1, app 99999999-8888-7777-6666-555555555555 \(created\)'
        $view | Should -Match 'AB12CD34, expires'
    }
}
