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
      stopped-another-active-server        another DirSync server exports to this tenant (its host, id and
                                           last run are named); nothing was written (staging mode here, or
                                           -TakeOver when that server is gone)
      stopped-error                        the run stopped on an error; the message says which
    A run that stopped is an error: in pwsh -NonInteractive (scheduled tasks, scripts) it stops the script,
    so pwsh exits non-zero; at the prompt it is written to the error stream after the result. Only one run happens at a time; a second is refused with a clear message.

    With -Identity, only the objects named are synchronized, at once: each is read from Active Directory
    and created, updated, disabled or deleted in Microsoft 365 with its memberships and manager, under the
    same scope, deletion threshold, lock and history as any run (its Mode is object). Every other change
    waits for the next run, which still sees it: a run of chosen objects never moves the point from which
    the next delta reads.

    .PARAMETER Identity
    The objects to synchronize now: sAMAccountName, userPrincipalName, distinguishedName or objectGUID of
    users, groups or contacts. A deleted account is found by its old distinguishedName, UPN or objectGUID.
    Takes pipeline input, also by property name (DistinguishedName, ObjectGUID, UserPrincipalName,
    SamAccountName: the objects Get-ADUser returns). An identity that names no object, or several, is an
    error (DirSync.IdentityNotFound, DirSync.IdentityAmbiguous) and nothing is synchronized.

    .PARAMETER Wait
    When another run is going, wait for it to end and then run, instead of being refused.

    .PARAMETER TakeOver
    Makes this server the active one in place of another DirSync server whose marker is in the tenant: the
    switch-over to a standby once the active server is gone for good. Without it such a run stops
    (stopped-another-active-server) before writing anything; with it, the marker names this server from now
    on, later runs need no -TakeOver, and the other server's runs stop instead.

    .PARAMETER FullSync
    Reads every object from Active Directory instead of the changes since the last run.

    .PARAMETER AllowDeletes
    Lets this one run delete more objects than the accidental-delete threshold allows.

    .PARAMETER WhatIf
    Shows what the run would change (the plan), and changes nothing. Its table shows the plan's Changes,
    PlannedWrites (a group's new members go 20 to a write) and QuotaTime: the least time those writes take
    at Microsoft 365's write quota of 3,000 writes per 150 s, which is how long an initial sync will take.

    .PARAMETER Confirm
    Asks before the run. Answering No does nothing and returns nothing (-WhatIf is the preview).

    .EXAMPLE
    Start-OnlineCoexistenceSync

    Synchronizes the changes made in Active Directory since the last run.

    .EXAMPLE
    Start-OnlineCoexistenceSync -WhatIf | Select-Object -ExpandProperty Plan

    Lists each change the next run would make, without making it.

    .EXAMPLE
    Start-OnlineCoexistenceSync -Identity jdoe

    Synchronizes the user jdoe now, for example right after disabling the account of a leaver.

    .EXAMPLE
    Get-ADUser -Filter 'Department -eq "Sales"' | Start-OnlineCoexistenceSync -Wait

    Synchronizes these users now, in one run, waiting for a scheduled run that is going to end first.

    .EXAMPLE
    Set-CoexistenceConfiguration -StagingMode $false; Start-OnlineCoexistenceSync -TakeOver

    On the standby, once the active server is gone: turns staging mode off and takes over from it.

    .EXAMPLE
    Start-OnlineCoexistenceSync -FullSync -AllowDeletes

    Reads every object again and carries out all deletes, even past the threshold.

    .OUTPUTS
    DirSync.RunResult
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Low')]
    [OutputType('DirSync.RunResult')]
    param(
        [Parameter(Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [Alias('DistinguishedName', 'ObjectGUID', 'UserPrincipalName', 'SamAccountName')]
        [string[]]$Identity,
        [switch]$FullSync,
        [switch]$AllowDeletes,
        [switch]$Wait,
        [switch]$TakeOver
    )
    begin { $chosen = [System.Collections.Generic.List[string]]::new() }
    process { foreach ($name in $Identity) { if ($name) { $chosen.Add($name) } } }
    end {
        # One run for every identity the pipeline brought.
        $mode = if ($chosen.Count) { 'object' } elseif ($FullSync) { 'full' } else { 'delta' }
        $what = if ($chosen.Count) { "of $($chosen -join ', ')" } else { "($mode)" }
        $action = "Synchronize $what from Active Directory"
        # The overload that says why it declined: -WhatIf asks for the preview, a No to -Confirm for nothing.
        $reason = [System.Management.Automation.ShouldProcessReason]::None
        $go = $PSCmdlet.ShouldProcess("Performing the operation `"$action`" on target `"Microsoft 365 directory`".",
                                      "$action into the Microsoft 365 directory?", 'Confirm', [ref]$reason)
        $preview = -not $go
        if ($preview -and -not $reason.HasFlag([System.Management.Automation.ShouldProcessReason]::WhatIf)) { return }
        $arguments = @{ full = [bool]$FullSync; preview = $preview; allow_deletes = [bool]$AllowDeletes }
        if ($chosen.Count) { $arguments.objects = @($chosen) }
        if ($Wait) { $arguments.wait = $true }
        if ($TakeOver) { $arguments.take_over = $true }
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
}
