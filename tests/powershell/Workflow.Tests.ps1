# The administrator's workflow against the real parts: a seeded Samba AD domain and the local tenant
# (dirsync-lab up, this checkout's lab), driven through the cmdlets in this pwsh process.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Lab.ps1')
    . (Join-Path $PSScriptRoot 'HostText.ps1')
    $script:Root = Resolve-Path (Join-Path $PSScriptRoot '../..')
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) "dirsync-workflow-$PID"
    $script:Lab = Join-Path $Work 'lab'
    $script:Home0 = Join-Path $Work 'home'
    $env:DIRSYNC_HOME = $Home0
    New-Item -ItemType Directory -Force $Work | Out-Null
    # This checkout's lab and product, whichever checkout the system-wide install points at.
    $script:PythonPath0 = $env:PYTHONPATH
    $env:PYTHONPATH = (@((Join-Path $Root 'lab'), (Join-Path $Root 'python')) + @($env:PYTHONPATH | Where-Object { $_ })) -join ':'
    $null = /usr/bin/python3 -m dirsync_lab up --dir $Lab --with-app  # the wizard's "bring your own app" path
    if ($LASTEXITCODE) { throw 'The demo lab did not start.' }
    $script:Facts = Get-Content (Join-Path $Lab 'lab.json') -Raw | ConvertFrom-Json
    $script:BaseDN = $Facts.activeDirectory.baseDN

    Import-Module (Join-Path $Root 'powershell/DirSync.psd1') -Force
    . (Join-Path $PSScriptRoot 'Probe.ps1')
    Register-DirSyncProbe
    function Invoke-Probe([string]$Function, [hashtable]$Arguments = @{}) {
        Invoke-DirSyncProbe "dirsync_probe:$Function" ($Arguments + @{ lab = $Lab })
    }
    $script:WizardAnswers = @{
        TenantId = $Facts.tenant.tenantId; ClientId = $Facts.tenant.clientId
        CertificateFile = $Facts.tenant.certificateFile; CertificateKeyFile = $Facts.tenant.certificateKeyFile
        AuthorityHost = $Facts.tenant.authorityHost; GraphEndpoint = $Facts.tenant.graphEndpoint
        TenantCAFile = $Facts.tenant.caFile
        DomainController = $Facts.activeDirectory.server; DomainControllerCAFile = $Facts.activeDirectory.caFile
        EnterpriseAdminCredential = [pscredential]::new($Facts.activeDirectory.adminUser,
            (ConvertTo-SecureString $Facts.activeDirectory.adminPassword -AsPlainText -Force))
        ExchangeHybrid = $false
    }
}

AfterAll {
    Stop-DirSyncLab -Lab $Lab -Work $Work -DirSyncHome $Home0 -PythonPath $PythonPath0
}

Describe 'Before the wizard' {
    It '<Command> says DirSync is not configured, and changes nothing' -ForEach @(
        @{ Command = 'Start-OnlineCoexistenceSync' }, @{ Command = 'Get-CoexistenceSyncSchedule' }
        @{ Command = 'Test-CoexistenceSync' }, @{ Command = 'Get-PreventAccidentalDeletes' }
    ) {
        $err = { & $Command } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'DirSync.NotConfigured,*'
        "$err" | Should -Match 'Start-CoexistenceConfigurationWizard'
        Test-Path (Join-Path $Home0 'dirsync.json') | Should -BeFalse
    }
}

Describe 'Start-CoexistenceConfigurationWizard from a script' {
    It 'reports an unreachable domain controller as a ConnectionError naming it, and saves nothing' {
        $answers = @{} + $WizardAnswers
        $answers.DomainController = '127.0.0.9'
        $err = { Start-CoexistenceConfigurationWizard @answers -SynchronizeNow $false } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be 'DirSync.ServerUnreachable,Start-CoexistenceConfigurationWizard'
        $err.CategoryInfo.Category | Should -Be 'ConnectionError'
        "$err" | Should -Match '127\.0\.0\.9'
        Test-Path (Join-Path $Home0 'dirsync.json') | Should -BeFalse
    }

    It 'refuses a wrong Enterprise Admin password and saves nothing' {
        $answers = @{} + $WizardAnswers
        $answers.EnterpriseAdminCredential = [pscredential]::new($Facts.activeDirectory.adminUser,
            (ConvertTo-SecureString 'not-the-password' -AsPlainText -Force))
        $err = { Start-CoexistenceConfigurationWizard @answers -SynchronizeNow $false } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be 'DirSync.AuthenticationFailed,Start-CoexistenceConfigurationWizard'
        "$err" | Should -Match ([regex]::Escape($Facts.activeDirectory.server))
        Test-Path (Join-Path $Home0 'dirsync.json') | Should -BeFalse
    }

    It 'creates the installation''s MSOL_ account, saves the configuration, registers the schedule and synchronizes now' {
        # The bulk OU's 1,600 users would wait on the documented write quota; the first run leaves it out.
        $result = Start-CoexistenceConfigurationWizard @WizardAnswers -SynchronizeNow $false
        $result.PSObject.TypeNames[0] | Should -Be 'DirSync.ConfigurationWizardResult'
        $result.ServiceAccount.User | Should -Be "MSOL_$($result.Configuration.InstallationId)@dirsync.test"
        Invoke-Probe ad_show_tombstones_to @{ account = $result.ServiceAccount.User }
        $result.Configuration.ActiveDirectory.ServiceAccount | Should -Be $result.ServiceAccount.User
        $result.Schedule.Enabled | Should -BeTrue
        Set-CoexistenceConfiguration -ExcludeOUs "OU=Bulk,OU=Corp,$BaseDN"
        $run = Start-OnlineCoexistenceSync
        $run.Status | Should -Be 'success'
        $run.Added | Should -BeGreaterThan 10
        (Invoke-Probe cloud_user @{ upn = "jdoe@dirsync.test" }).exists | Should -BeTrue
    }

    It 'kept no Enterprise Admin password anywhere on disk' {
        $password = $Facts.activeDirectory.adminPassword
        $hits = Get-ChildItem -Recurse -File $Home0 | Where-Object { (Get-Content -Raw -AsByteStream $_.FullName) -and
            [Text.Encoding]::UTF8.GetString((Get-Content -Raw -AsByteStream $_.FullName)).Contains($password) }
        $hits | Should -BeNullOrEmpty
        (Get-CoexistenceConfiguration | ConvertTo-Json -Depth 5) | Should -Not -Match ([regex]::Escape($password))
    }
}

Describe 'Forcing a synchronization: the guide''s scenario' {
    It 'disables a terminated employee in Microsoft 365 when Start-OnlineCoexistenceSync returns' {
        (Invoke-Probe cloud_user @{ upn = 'jdoe@dirsync.test' }).accountEnabled | Should -BeTrue
        Invoke-Probe ad_set_enabled @{ sam = 'jdoe'; enabled = $false }
        $run = Start-OnlineCoexistenceSync
        $run.Status | Should -Be 'success'
        $run.Updated | Should -Be 1
        (Invoke-Probe cloud_user @{ upn = 'jdoe@dirsync.test' }).accountEnabled | Should -BeFalse
    }

    It 'removes the deleted account from Microsoft 365 when Start-OnlineCoexistenceSync returns' {
        Invoke-Probe ad_delete @{ sam = 'jdoe' }
        $run = Start-OnlineCoexistenceSync
        $run.Status | Should -Be 'success'
        $run.Deleted | Should -Be 1
        $user = Invoke-Probe cloud_user @{ upn = 'jdoe@dirsync.test' }
        $user.exists | Should -BeFalse
        $user.deleted | Should -BeTrue  # in deletedItems for 30 days, as Microsoft 365 keeps it
    }

    It 'previews with -WhatIf, showing the writes of its plan, and writes nothing' {
        Invoke-Probe ad_set_enabled @{ sam = 'oovergard'; enabled = $false }
        $preview = Start-OnlineCoexistenceSync -WhatIf
        $preview.Preview | Should -BeTrue
        @($preview.Plan).Count | Should -Be 1
        $preview.Plan[0].Dn | Should -Match 'Øvergård'
        # The console's table of the preview: one PATCH, at least 0.05 s at 3,000 writes per 150 s
        Get-TableCell $preview 'PlannedWrites' | Should -Be '1'
        Get-TableCell $preview 'Changes' | Should -Be '1'
        (Invoke-Probe cloud_user @{ upn = 'oovergard@dirsync.test' }).accountEnabled | Should -BeTrue
        $writes = Invoke-Probe cloud_writes
        $run = Start-OnlineCoexistenceSync
        $run.Updated | Should -Be 1
        (Invoke-Probe cloud_writes) - $writes | Should -Be 1  # the tenant's own counter: as many as shown
        Get-TableCell $run 'PlannedWrites' | Should -Be '1'
        (Invoke-Probe cloud_user @{ upn = 'oovergard@dirsync.test' }).accountEnabled | Should -BeFalse
    }

    It 'makes no write when nothing changed' {
        $run = Start-OnlineCoexistenceSync
        $run.Status | Should -Be 'success'
        ($run.Added + $run.Updated + $run.Deleted + $run.MembershipChanges) | Should -Be 0
    }
}

Describe 'Accidental deletes' {
    BeforeAll {
        $script:Pwsh = (Get-Command pwsh -CommandType Application | Select-Object -First 1).Source
        $script:Scope = "OU=Bulk,OU=Corp,$BaseDN", "OU=Engineering,OU=People,OU=Corp,$BaseDN"
    }

    It 'stops a run that would delete more than the threshold, deleting nothing; -AllowDeletes lets it through' {
        Set-PreventAccidentalDeletes -Enable -ObjectDeletionThreshold 2
        Set-CoexistenceConfiguration -ExcludeOUs $Scope
        $before = Invoke-Probe cloud_user_count
        # An error whether this pwsh is interactive or not (the two are told apart below).
        $failure = $null
        try { $null = Start-OnlineCoexistenceSync -ErrorAction Stop } catch { $failure = $_ }
        $failure.FullyQualifiedErrorId | Should -BeLike 'DirSync.Run.stopped-deletion-threshold-exceeded*'
        "$failure" | Should -Match 'AllowDeletes'
        (Get-CoexistenceSyncHistory -Last 1).Status | Should -Be 'stopped-deletion-threshold-exceeded'
        Invoke-Probe cloud_user_count | Should -Be $before
        $allowed = Start-OnlineCoexistenceSync -AllowDeletes
        $allowed.Status | Should -Be 'success'
        $allowed.Deleted | Should -BeGreaterThan 2
        Invoke-Probe cloud_user_count | Should -BeLessThan $before
    }

    It 'stops a script in pwsh -NonInteractive, so scheduled tasks and scripts fail' {
        Set-CoexistenceConfiguration -ExcludeOUs ($Scope + "OU=Sales,OU=People,OU=Corp,$BaseDN")
        $script = "Import-Module '$Root/powershell/DirSync.psd1'; Start-OnlineCoexistenceSync | Out-Null; 'after the run'"
        $output = & $Pwsh -NoProfile -NonInteractive -Command $script 2>&1
        $LASTEXITCODE | Should -Not -Be 0
        ($output -join "`n") | Should -Match 'stopped-deletion-threshold-exceeded'
        ($output -join "`n") | Should -Not -Match 'after the run'
    }

    It 'returns the result and writes a non-terminating error at an interactive prompt' {
        $script = "Import-Module '$Root/powershell/DirSync.psd1'; `$run = Start-OnlineCoexistenceSync -ErrorAction SilentlyContinue -ErrorVariable failure; " +
                  "'status=' + `$run.Status; 'error=' + `$failure[0].FullyQualifiedErrorId; 'after the run'"
        $output = (& $Pwsh -NoProfile -Command $script 2>&1) -join "`n"
        $output | Should -Match 'status=stopped-deletion-threshold-exceeded'
        $output | Should -Match 'error=DirSync.Run.stopped-deletion-threshold-exceeded,Start-OnlineCoexistenceSync'
        $output | Should -Match 'after the run'
    }

    It 'deletes nothing once the OU filter that caused the stop is put back' {
        Set-CoexistenceConfiguration -ExcludeOUs $Scope
        Set-PreventAccidentalDeletes -Enable -ObjectDeletionThreshold 500
        $run = Start-OnlineCoexistenceSync
        $run.Status | Should -Be 'success'
        $run.Deleted | Should -Be 0
    }
}

Describe 'The schedule' {
    It 'is registered with this machine''s scheduler every three hours, with its next run time' {
        $schedule = Get-CoexistenceSyncSchedule
        $schedule.PSObject.TypeNames[0] | Should -Be 'DirSync.CoexistenceSyncSchedule'
        $schedule.Enabled | Should -BeTrue
        $schedule.Interval | Should -Be ([timespan]'03:00:00')
        $schedule.Scheduler | Should -Be 'cron'
        (crontab -l) -join "`n" | Should -Match ([regex]::Escape($schedule.Command))
        if ($schedule.SchedulerRunning) {
            $schedule.NextRunTime | Should -BeGreaterThan ([datetime]::UtcNow.AddMinutes(-1))
        } else {  # no cron daemon on this machine: the entry never runs, and the schedule says so
            $schedule.NextRunTime | Should -BeNullOrEmpty
            $schedule.SchedulerProblem | Should -Match 'No cron daemon is running'
        }
    }

    It 'runs: the exact registered command makes a run that the history shows as scheduled' {
        $schedule = Get-CoexistenceSyncSchedule
        bash -c $schedule.Command
        $LASTEXITCODE | Should -Be 0
        $last = Get-CoexistenceSyncHistory -Last 1
        $last.Trigger | Should -Be 'scheduled'
        $last.Status | Should -Be 'success'
        (Get-CoexistenceSyncSchedule).LastRunTime | Should -Be $last.StartTime
    }

    It 'changes the interval and refuses an invalid one, changing nothing' {
        $changed = Set-CoexistenceSyncSchedule -Interval 01:00:00 -PassThru
        $changed.Interval | Should -Be ([timespan]'01:00:00')
        (Get-CoexistenceConfiguration).Sync.IntervalMinutes | Should -Be 60
        $err = { Set-CoexistenceSyncSchedule -Interval 00:10:00 } | Should -Throw -PassThru
        "$err" | Should -Match 'between 30 and 10080'
        (Get-CoexistenceSyncSchedule).Interval | Should -Be ([timespan]'01:00:00')
        { Set-CoexistenceSyncSchedule -Interval 00:45:30 } | Should -Throw '*whole number of minutes*'
        Set-CoexistenceSyncSchedule -Interval 03:00:00
    }

    It 'turns off and on' {
        Set-CoexistenceSyncSchedule -Enabled $false
        (Get-CoexistenceSyncSchedule).Enabled | Should -BeFalse
        (crontab -l 2>$null) -join "`n" | Should -Not -Match ([regex]::Escape($Home0))
        Set-CoexistenceSyncSchedule -Enabled $true
        (Get-CoexistenceSyncSchedule).Enabled | Should -BeTrue
    }
}

Describe 'Verification' {
    It 'Get-CoexistenceSyncHistory lists the runs newest first' {
        $history = Get-CoexistenceSyncHistory
        $history.Count | Should -BeGreaterThan 3
        $history[0].PSObject.TypeNames[0] | Should -Be 'DirSync.RunResult'
        $history[0].RunId | Should -BeGreaterThan $history[1].RunId
        (Get-CoexistenceSyncHistory -Last 2).Count | Should -Be 2
        $history.Status | Should -Contain 'stopped-deletion-threshold-exceeded'
    }

    It 'Test-CoexistenceSync reports a healthy synchronization, then the pending change' {
        # Off, so that health does not depend on whether this machine runs a cron daemon (Health tests).
        Set-CoexistenceSyncSchedule -Enabled $false
        $report = Test-CoexistenceSync
        $report.Reasons | Should -BeNullOrEmpty
        $report.PSObject.TypeNames[0] | Should -Be 'DirSync.SyncTestResult'
        $report.Healthy | Should -BeTrue
        $report.ObjectsInCloud | Should -Be $report.ObjectsInScope
        Invoke-Probe ad_set_enabled @{ sam = 'oovergard'; enabled = $true }
        $pending = Test-CoexistenceSync
        $pending.Healthy | Should -BeFalse
        $pending.PendingChanges.update | Should -Be 1
    }
}

Describe 'Missing Graph permissions' {
    BeforeAll {
        # An app granted DirSync's set but Group.ReadWrite.All, as an administrator may forget one.
        $granted = '--permission=Organization.Read.All', '--permission=User.ReadWrite.All',
                   '--permission=Application.ReadWrite.OwnedBy'
        $script:Lacking = /usr/bin/python3 -m dirsync_lab tenant register-app --data (Join-Path $Lab 'tenant') `
            --name 'DirSync lacking a permission' --secret @granted | ConvertFrom-Json
        $script:Saved = Get-Content (Join-Path $Home0 'dirsync.json') -Raw
    }

    AfterAll {
        [IO.File]::WriteAllText((Join-Path $Home0 'dirsync.json'), $Saved)
    }

    It 'Start-CoexistenceConfigurationWizard names the missing permission and how to grant it, saving nothing' {
        $answers = @{} + $WizardAnswers
        $answers.Remove('CertificateFile'); $answers.Remove('CertificateKeyFile')
        $answers.ClientId = $Lacking.clientId
        $answers.ClientSecret = ConvertTo-SecureString $Lacking.clientSecret -AsPlainText -Force
        $err = { Start-CoexistenceConfigurationWizard @answers -SynchronizeNow $false } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be 'DirSync.PermissionDenied,Start-CoexistenceConfigurationWizard'
        "$err" | Should -Match 'Group\.ReadWrite\.All'
        "$err" | Should -Match 'Grant admin consent'
        Get-Content (Join-Path $Home0 'dirsync.json') -Raw | Should -Be $Saved
    }

    It 'Start-OnlineCoexistenceSync stops with an error naming the missing permission' {
        $code = "import sys; from dirsync import config, secrets; from pathlib import Path; h = Path(sys.argv[1]); " +
                "c = config.load(h); config.save(config.update(c, {'tenant': {'clientId': sys.argv[2], " +
                "'credentialType': 'secret'}}), h); secrets.store_secret(h, secrets.TENANT_CLIENT_SECRET, sys.argv[3])"
        /usr/bin/python3 -c $code $Home0 $Lacking.clientId $Lacking.clientSecret
        $LASTEXITCODE | Should -Be 0
        $failure = $null
        try { $null = Start-OnlineCoexistenceSync -ErrorAction Stop } catch { $failure = $_ }
        $failure.FullyQualifiedErrorId | Should -BeLike 'DirSync.Run.stopped-error*'
        "$failure" | Should -Match 'Group\.ReadWrite\.All'
        "$failure" | Should -Match 'Grant admin consent'
        (Get-CoexistenceSyncHistory -Last 1).Status | Should -Be 'stopped-error'
        $report = Test-CoexistenceSync
        $report.MissingPermissions | Should -Be @('Group.ReadWrite.All')
        $report.Healthy | Should -BeFalse
    }
}
