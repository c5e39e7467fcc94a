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

    .PARAMETER Confirm
    Asks before the run. Answering No does nothing and returns nothing (-WhatIf is the preview).

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
    $action = "Synchronize ($mode) from Active Directory"
    # The overload that says why it declined: -WhatIf asks for the preview, a No to -Confirm for nothing.
    $reason = [System.Management.Automation.ShouldProcessReason]::None
    $go = $PSCmdlet.ShouldProcess("Performing the operation `"$action`" on target `"Microsoft 365 directory`".",
                                  "$action into the Microsoft 365 directory?", 'Confirm', [ref]$reason)
    $preview = -not $go
    if ($preview -and -not $reason.HasFlag([System.Management.Automation.ShouldProcessReason]::WhatIf)) { return }
    $arguments = @{ full = [bool]$FullSync; preview = $preview; allow_deletes = [bool]$AllowDeletes }
    $run = ConvertTo-DirSyncRunResult (Invoke-DirSyncCore -Command 'start-sync' -Arguments $arguments -Cmdlet $PSCmdlet)
    $failures = @(@($run.Errors) | Where-Object { $_ } | ForEach-Object { "$($_.Dn): $($_.Reason) $($_.Fix)" })
    foreach ($warning in @(ConvertTo-DirSyncDisplayText $failures)) { Write-Warning $warning }
    # The core says whether the run failed and which ErrorId that is.
    if ($run.Failed) {
        $record = New-DirSyncErrorRecord ([pscustomobject]@{
                message = ConvertTo-DirSyncDisplayText "The synchronization stopped ($($run.Status)). $($run.Message)"; fix = ''
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
