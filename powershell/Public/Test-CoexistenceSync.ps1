function Test-CoexistenceSync {
    <#
    .SYNOPSIS
    Verifies directory synchronization: the last sync, objects in scope against objects in the cloud,
    pending changes and objects in error.

    .DESCRIPTION
    The verification step after a synchronization. It reports when DirSync last synchronized successfully,
    how many Active Directory objects are in scope and how many of them are in Microsoft 365, what the
    next run would change (found by a preview, which writes nothing), and each object that could not be
    synchronized with the reason and the fix. Healthy means a recent successful run: $true when the last
    run succeeded and ended less than two schedule intervals (plus 15 minutes) ago, the scheduler that
    starts the runs is running (a cron daemon, the systemd timer, the scheduled task), nothing is pending,
    no object is in error and the app has every Microsoft Graph permission DirSync needs
    (MissingPermissions lists the ones it lacks). Reasons lists, each with its fix, why it is not healthy;
    among them a warning when the app's certificate expires within credentialExpiryWarningDays (30 by
    default; Set-CoexistenceConfiguration -CredentialExpiryWarningDays), with the fix
    Update-CoexistenceCredential. CredentialExpires is when the certificate expires (UTC; empty with a
    client secret). On a staging (standby) server, StagingSummary says how far its plan is from the cloud:
    "staging: N objects would be created, M updated, K deleted at the next export"; empty otherwise.
    The cmdlet reports and does not fail: a monitoring script exits non-zero with
    `exit [int](-not (Test-CoexistenceSync).Healthy)`, or runs `dirsync test`, which exits 4.

    .EXAMPLE
    Test-CoexistenceSync

    .EXAMPLE
    if (-not (Test-CoexistenceSync).Healthy) { Send-MailMessage ... }

    .EXAMPLE
    pwsh -NonInteractive -Command 'exit [int](-not (Test-CoexistenceSync).Healthy)'

    For a monitoring agent: exit code 0 when healthy, 1 when not.

    .OUTPUTS
    DirSync.SyncTestResult
    #>
    [CmdletBinding()]
    [OutputType('DirSync.SyncTestResult')]
    param()
    $report = ConvertTo-PascalCase (Invoke-DirSyncCore -Command 'test-sync' -Cmdlet $PSCmdlet)
    $report.LastSyncTime = ConvertFrom-DirSyncTime $report.LastSyncTime
    $report.CredentialExpires = ConvertFrom-DirSyncTime $report.CredentialExpires
    foreach ($failure in @($report.Errors)) {
        if ($failure) { $null = Add-DirSyncTypeName $failure 'DirSync.ObjectError' }
    }
    Add-DirSyncTypeName $report 'DirSync.SyncTestResult'
}
