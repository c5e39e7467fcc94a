function Start-OnlineCoexistenceSync {
    <#
    .SYNOPSIS
    Synchronizes Active Directory with Microsoft 365 now, without waiting for the next scheduled run.

    .DESCRIPTION
    Runs a synchronization at once and returns when it is over: the changes in Active Directory since the
    last run (a delta synchronization), or with -FullSync every object. Use it when a change cannot wait,
    such as an employee whose account was disabled or deleted: when the command returns, the account is
    disabled, or deleted, in Microsoft 365.

    The result says how the run ended (Status), when, and how many objects were added, restored (from
    Microsoft 365's deleted items, with their ids and memberships), updated and deleted, with each object's
    error and its fix. Statuses:
      success                              everything was synchronized
      completed-export-errors              some objects could not be written; each error says why
      stopped-deletion-threshold-exceeded  the run would delete more objects than Set-PreventAccidentalDeletes
                                           allows; nothing was deleted (use -AllowDeletes once, or raise it)
      stopped-server-down                  a domain controller or Microsoft 365 could not be reached
      stopped-error                        the run stopped on an error; the message says which
    A run that stopped is an error: in pwsh -NonInteractive (scheduled tasks, scripts) it stops the script,
    so pwsh exits non-zero; at the prompt it is written to the error stream after the result. Only one run happens at a time; a second is refused with a clear message.

    .PARAMETER FullSync
    Reads every object from Active Directory instead of the changes since the last run.

    .PARAMETER AllowDeletes
    Lets this one run delete more objects than the accidental-delete threshold allows.

    .PARAMETER WhatIf
    Shows what the run would change (the plan), and changes nothing.

    .EXAMPLE
    Start-OnlineCoexistenceSync

    Synchronizes the changes made in Active Directory since the last run.

    .EXAMPLE
    Start-OnlineCoexistenceSync -WhatIf | Select-Object -ExpandProperty Plan

    Lists each change the next run would make, without making it.

    .EXAMPLE
    Start-OnlineCoexistenceSync -FullSync -AllowDeletes

    Reads every object again and carries out all deletes, even past the threshold.

    .OUTPUTS
    DirSync.RunResult
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Low')]
    [OutputType('DirSync.RunResult')]
    param(
        [switch]$FullSync,
        [switch]$AllowDeletes
    )
    $mode = if ($FullSync) { 'full' } else { 'delta' }
    $preview = -not $PSCmdlet.ShouldProcess('Microsoft 365 directory', "Synchronize ($mode) from Active Directory")
    $arguments = @{ full = [bool]$FullSync; preview = $preview; allow_deletes = [bool]$AllowDeletes }
    $run = ConvertTo-DirSyncRunResult (Invoke-DirSyncCore -Command 'start-sync' -Arguments $arguments -Cmdlet $PSCmdlet)
    foreach ($failure in @($run.Errors)) {
        if ($failure) { Write-Warning "$($failure.Dn): $($failure.Reason) $($failure.Fix)" }
    }
    # The core says whether the run failed and which ErrorId that is.
    if ($run.Failed) {
        $record = New-DirSyncErrorRecord ([pscustomobject]@{
                message = "The synchronization stopped ($($run.Status)). $($run.Message)"; fix = ''
                errorId = $run.ErrorId; category = 'OperationStopped'; target = $run.RunId })
        # The result first, then the error: `$r = Start-OnlineCoexistenceSync` keeps the stopped run's result.
        $PSCmdlet.WriteObject($run)
        if (Test-DirSyncNonInteractive) {
            # Script-terminating (ThrowTerminatingError would stop only this statement): the script or
            # scheduled task stops here and pwsh exits non-zero.
            throw $record
        }
        $PSCmdlet.WriteError($record)
        return
    }
    $run
}
