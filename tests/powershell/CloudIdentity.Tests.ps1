# Wizard page 1 against the real parts (issue 14): an administrator signs in with a device code, approved
# through the lab tenant's admin API as the administrator would on /devicelogin (dirsync-lab approve),
# and DirSync makes its own app registration; then it synchronizes as that app and rotates its
# certificate. The lab is the demo lab (dirsync-lab up, this checkout's lab): a tenant with no app but
# the lab's own reader, its administrator (Privileged Role Administrator), and an Application
# Administrator, who may consent to the sign-in's delegated permissions and create apps but not grant
# Microsoft Graph's application permissions.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Lab.ps1')
    $script:Root = Resolve-Path (Join-Path $PSScriptRoot '../..')
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) "dirsync-cloud-identity-$PID"
    $script:Lab = Join-Path $Work 'lab'
    $script:Home0 = Join-Path $Work 'home'
    $env:DIRSYNC_HOME = $Home0
    New-Item -ItemType Directory -Force $Work | Out-Null
    $script:PythonPath0 = $env:PYTHONPATH
    $env:PYTHONPATH = (@((Join-Path $Root 'lab'), (Join-Path $Root 'python')) + @($env:PYTHONPATH | Where-Object { $_ })) -join ':'
    $null = /usr/bin/python3 -m dirsync_lab up --dir $Lab
    if ($LASTEXITCODE) { throw 'The demo lab did not start.' }
    $script:Facts = Get-Content (Join-Path $Lab 'lab.json') -Raw | ConvertFrom-Json
    $script:BaseDN = $Facts.activeDirectory.baseDN

    Import-Module (Join-Path $Root 'powershell/DirSync.psd1') -Force
    . (Join-Path $PSScriptRoot 'Probe.ps1')
    . (Join-Path $PSScriptRoot 'HostText.ps1')
    Register-DirSyncProbe
    function Invoke-Probe([string]$Function, [hashtable]$Arguments = @{}) {
        Invoke-DirSyncProbe "dirsync_probe:$Function" ($Arguments + @{ lab = $Lab })
    }

    # The documented set (docs/administrator-guide.md, Permissions): exactly these, no more.
    $script:Permissions = @('Application.ReadWrite.OwnedBy', 'Group.ReadWrite.All', 'Organization.Read.All', 'User.ReadWrite.All')
    $script:Answers = @{
        UseDeviceCode = $true
        AuthorityHost = $Facts.tenant.authorityHost; GraphEndpoint = $Facts.tenant.graphEndpoint; TenantCAFile = $Facts.tenant.caFile
        DomainController = $Facts.activeDirectory.server; DomainControllerCAFile = $Facts.activeDirectory.caFile
        EnterpriseAdminCredential = [pscredential]::new($Facts.activeDirectory.adminUser,
            (ConvertTo-SecureString $Facts.activeDirectory.adminPassword -AsPlainText -Force))
        ExchangeHybrid = $false; SynchronizeNow = $false
    }
    # Everything the cmdlets showed on the host, for the secrets scan at the end.
    $script:Displayed = [System.Collections.Generic.List[string]]::new()

    # Runs $Script while the lab's $Who (lab.json) signs in at the device code it shows; returns what the host showed.
    function Invoke-WithApproval([string]$Who, [scriptblock]$Script) {
        $approval = (Invoke-Probe start_device_code_approver @{ who = $Who }).id
        try {
            $text = Get-HostText $Script
        } finally {
            $script:Approved = Invoke-DirSyncProbe 'dirsync_probe:device_code_approval' @{ approval = $approval }
        }
        $Displayed.AddRange([string[]]@($text))
        $text
    }
}

AfterAll {
    Stop-DirSyncLab -Lab $Lab -Work $Work -DirSyncHome $Home0 -PythonPath $PythonPath0
}

Describe 'Wizard page 1: an administrator signs in with a device code' {
    It 'with -WhatIf signs in, shows the code to type and each change it would make, and creates and saves nothing' {
        $before = @(Invoke-Probe cloud_apps).Count
        $shown = Invoke-WithApproval administrator {
            Start-CoexistenceConfigurationWizard @Answers -WhatIf | Should -BeNullOrEmpty
        }
        $Approved.code | Should -Not -BeNullOrEmpty -Because "the device code was approved ($($Approved.error))"
        ($shown -join "`n") | Should -Match 'To sign in, .*https://\S+.* enter the code \S+'
        ($shown -join "`n") | Should -Match 'What if: Performing the operation "create" on target "[^"]+"'
        ($shown -join "`n") | Should -Match 'What if: Performing the operation "grant" on target "[^"]*User\.ReadWrite\.All'
        @(Invoke-Probe cloud_apps).Count | Should -Be $before
        Test-Path (Join-Path $Home0 'dirsync.json') | Should -BeFalse
    }

    It 'refuses an administrator without the role that grants the permissions (an Application Administrator), naming it; creates and saves nothing' {
        $before = @(Invoke-Probe cloud_apps).Count
        $null = Invoke-WithApproval appAdministrator {
            try { Start-CoexistenceConfigurationWizard @Answers } catch { $script:Refused = $_ }
        }
        $err = $Refused
        $err | Should -Not -BeNullOrEmpty
        $Approved.code | Should -Not -BeNullOrEmpty -Because "the device code was approved ($($Approved.error))"
        $err.FullyQualifiedErrorId | Should -Be 'DirSync.PermissionDenied,Start-CoexistenceConfigurationWizard'
        "$err" | Should -Match 'Privileged Role Administrator'
        @(Invoke-Probe cloud_apps).Count | Should -Be $before
        Test-Path (Join-Path $Home0 'dirsync.json') | Should -BeFalse
    }

    It 'creates one app, its service principal, one certificate, exactly the documented permissions and its ownership' {
        $before = @(Invoke-Probe cloud_apps).Count
        $null = Invoke-WithApproval administrator { $script:Configured = Start-CoexistenceConfigurationWizard @Answers }
        $Approved.code | Should -Not -BeNullOrEmpty -Because "the device code was approved ($($Approved.error))"
        $identity = $Configured.CloudIdentity
        $identity.PSObject.TypeNames[0] | Should -Be 'DirSync.CloudIdentity'
        $identity.Created | Should -BeTrue
        $identity.CertificateExpires | Should -BeGreaterThan ([datetime]::UtcNow.AddDays(30))
        @($identity.Permissions | Sort-Object) | Should -Be $Permissions
        $Configured.Configuration.Tenant.TenantId | Should -Be $Facts.tenant.tenantId
        $Configured.Configuration.Tenant.ClientId | Should -Be $identity.AppId

        $cloud = Invoke-Probe cloud_identity @{ app_id = $identity.AppId }
        $cloud.apps | Should -Be 1
        $cloud.servicePrincipals | Should -Be 1
        $cloud.servicePrincipalId | Should -Be $identity.ServicePrincipalId
        @($cloud.thumbprints) | Should -Be @($identity.CertificateThumbprint)
        @($cloud.permissions) | Should -Be $Permissions
        @($cloud.owners) | Should -Contain $identity.ServicePrincipalId
        @(Invoke-Probe cloud_apps).Count | Should -Be ($before + 1)
        @(Invoke-Probe cloud_apps | Where-Object displayName -eq $identity.DisplayName).Count | Should -Be 1
    }

    It 'synchronizes for the first time as its own app' {
        Invoke-Probe ad_show_tombstones_to @{ account = $Configured.ServiceAccount.User }
        # The bulk OU's 1,600 users would wait on the documented write quota; the first run leaves it out.
        Set-CoexistenceConfiguration -ExcludeOUs "OU=Bulk,OU=Corp,$BaseDN"
        $run = Start-OnlineCoexistenceSync
        $run.Status | Should -Be 'success'
        $run.Added | Should -BeGreaterThan 10
        (Invoke-Probe cloud_user @{ upn = 'jdoe@dirsync.test' }).exists | Should -BeTrue
    }

    It 'Test-CoexistenceSync gives the certificate''s expiry and finds no permission missing' {
        $report = Test-CoexistenceSync
        $report.CredentialExpires | Should -Be $Configured.CloudIdentity.CertificateExpires
        $report.MissingPermissions | Should -BeNullOrEmpty
        @($report.Reasons) -match 'certificate' | Should -BeNullOrEmpty
    }
}

Describe 'Rotating the certificate' {
    It 'Update-CoexistenceCredential -WhatIf lists the certificate it would add and the one it would remove, and changes nothing' {
        $shown = Get-HostText { Update-CoexistenceCredential -WhatIf | Should -BeNullOrEmpty }
        $Displayed.AddRange([string[]]@($shown))
        ($shown -join "`n") | Should -Match 'What if: Performing the operation "add" on target'
        ($shown -join "`n") | Should -Match ('What if: Performing the operation "remove" on target "[^"]*' + [regex]::Escape($Configured.CloudIdentity.CertificateThumbprint))
        @((Invoke-Probe cloud_identity @{ app_id = $Configured.CloudIdentity.AppId }).thumbprints) |
            Should -Be @($Configured.CloudIdentity.CertificateThumbprint)
    }

    It 'Update-CoexistenceCredential puts a new certificate in place of the old one, and synchronization goes on' {
        $old = $Configured.CloudIdentity.CertificateThumbprint
        $rotated = Update-CoexistenceCredential -Confirm:$false
        $rotated.PSObject.TypeNames[0] | Should -Be 'DirSync.CredentialUpdateResult'
        $rotated.AppId | Should -Be $Configured.CloudIdentity.AppId
        $rotated.CertificateThumbprint | Should -Not -Be $old
        $rotated.RemovedThumbprints | Should -Be @($old)
        @((Invoke-Probe cloud_identity @{ app_id = $rotated.AppId }).thumbprints) | Should -Be @($rotated.CertificateThumbprint)
        (Test-CoexistenceSync).CredentialExpires | Should -Be $rotated.CertificateExpires
        (Start-OnlineCoexistenceSync).Status | Should -Be 'success'
        $script:Rotated = $rotated
    }

    It 're-running the wizard keeps the one app and gives it a new certificate' {
        $before = @(Invoke-Probe cloud_apps).Count
        $null = Invoke-WithApproval administrator { $script:Again = Start-CoexistenceConfigurationWizard @Answers }
        $Again.CloudIdentity.Created | Should -BeFalse
        $Again.CloudIdentity.AppId | Should -Be $Configured.CloudIdentity.AppId
        $Again.CloudIdentity.CertificateThumbprint | Should -Not -Be $Rotated.CertificateThumbprint
        $cloud = Invoke-Probe cloud_identity @{ app_id = $Again.CloudIdentity.AppId }
        $cloud.apps | Should -Be 1
        $cloud.servicePrincipals | Should -Be 1
        @($cloud.thumbprints) | Should -Be @($Again.CloudIdentity.CertificateThumbprint)
        @($cloud.permissions) | Should -Be $Permissions
        @(Invoke-Probe cloud_apps).Count | Should -Be $before
        (Start-OnlineCoexistenceSync).Status | Should -Be 'success'
    }
}

Describe 'The administrator''s sign-in' {
    # Each call's page, least privileged, delegated: application-post-applications and serviceprincipal-post-
    # serviceprincipals (Application.ReadWrite.All), serviceprincipal-post-approleassignedto
    # (AppRoleAssignment.ReadWrite.All and Application.Read.All), application-post-owners
    # (Application.ReadWrite.All and Directory.Read.All, which also reads /me and its memberOf).
    It 'asked for the delegated permissions the wizard needs, and no more' {
        $scopes = @((Invoke-Probe issued_user_tokens).scopes | Select-Object -Unique)
        $scopes.Count | Should -BeGreaterThan 0
        foreach ($scope in $scopes) {
            @($scope -split ' ' | Sort-Object) |
                Should -Be @('Application.ReadWrite.All', 'AppRoleAssignment.ReadWrite.All', 'Directory.Read.All')
        }
    }

    It 'keeps no administrator token, refresh token or password in DirSync''s home or in anything the cmdlets showed' {
        $issued = Invoke-Probe issued_user_tokens
        $secrets = @($issued.accessTokens) + @($issued.refreshTokens) + @($issued.idTokens) +
            @($Facts.administrator.password, $Facts.appAdministrator.password) | Where-Object { $_ }
        @($issued.accessTokens).Count | Should -BeGreaterThan 0
        $texts = @(Get-ChildItem -Recurse -File $Home0 | ForEach-Object { [Text.Encoding]::UTF8.GetString([IO.File]::ReadAllBytes($_.FullName)) })
        $texts += ($Displayed -join "`n")
        $texts += (Get-CoexistenceConfiguration | ConvertTo-Json -Depth 8)
        foreach ($secret in $secrets) {
            foreach ($text in $texts) { $text.Contains($secret) | Should -BeFalse -Because 'no administrator token or password may be kept or shown' }
        }
    }
}
