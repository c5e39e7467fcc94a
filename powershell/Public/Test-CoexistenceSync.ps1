function Test-CoexistenceSync {
    <#
    .SYNOPSIS
    Verifies directory synchronization: the last sync, objects in scope against objects in the cloud,
    pending changes and objects in error.

    .DESCRIPTION
    The verification step after a synchronization. It reports when DirSync last synchronized successfully,
    how many Active Directory objects are in scope and how many of them are in Microsoft 365, what the
    next run would change (found by a preview, which writes nothing), and each object that could not be
    synchronized with the reason and the fix. Healthy is $true when the last run succeeded, nothing is
    pending, no object is in error and the app has every Microsoft Graph permission DirSync needs
    (MissingPermissions lists the ones it lacks).

    .EXAMPLE
    Test-CoexistenceSync

    .EXAMPLE
    if (-not (Test-CoexistenceSync).Healthy) { Send-MailMessage ... }

    .OUTPUTS
    DirSync.SyncTestResult
    #>
    [CmdletBinding()]
    [OutputType('DirSync.SyncTestResult')]
    param()
    $report = ConvertTo-PascalCase (Invoke-DirSyncCore -Command 'test-sync' -Cmdlet $PSCmdlet)
    $report.LastSyncTime = ConvertFrom-DirSyncTime $report.LastSyncTime
    foreach ($failure in @($report.Errors)) {
        if ($failure) { $null = Add-DirSyncTypeName $failure 'DirSync.ObjectError' }
    }
    Add-DirSyncTypeName $report 'DirSync.SyncTestResult'
}
