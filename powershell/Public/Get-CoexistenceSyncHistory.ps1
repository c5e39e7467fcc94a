function Get-CoexistenceSyncHistory {
    <#
    .SYNOPSIS
    Lists the synchronization runs, newest first.

    .DESCRIPTION
    Each run DirSync made: when it started and ended, what started it (manual, scheduled, wizard), how it
    ended (Status), its counts of added, updated and deleted objects, and each object's error. A scheduled
    run that found another run in progress is listed too, with the status skipped-run-in-progress.

    .PARAMETER Last
    Only the N most recent runs.

    .EXAMPLE
    Get-CoexistenceSyncHistory -Last 5

    .EXAMPLE
    Get-CoexistenceSyncHistory | Where-Object Status -ne success

    The runs that did not go well.

    .OUTPUTS
    DirSync.RunResult
    #>
    [CmdletBinding()]
    [OutputType('DirSync.RunResult')]
    param(
        [ValidateRange(1, [int]::MaxValue)] [int]$Last
    )
    $arguments = @{}
    if ($Last) { $arguments.last = $Last }
    foreach ($run in Invoke-DirSyncCore -Command 'get-history' -Arguments $arguments -Cmdlet $PSCmdlet) {
        ConvertTo-DirSyncRunResult $run
    }
}
