function Get-CoexistenceSyncSchedule {
    <#
    .SYNOPSIS
    Shows the recurring synchronization: whether it is on, how often it runs and when it runs next.

    .DESCRIPTION
    DirSync synchronizes every three hours unless told otherwise. The schedule is registered with the
    operating system's scheduler: a systemd timer where systemd runs, a Scheduled Task on Windows, cron
    otherwise. The object shows which one, the exact command it runs, the last scheduled run and the next.

    .EXAMPLE
    Get-CoexistenceSyncSchedule

    .EXAMPLE
    (Get-CoexistenceSyncSchedule).NextRunTime.ToLocalTime()

    When the next synchronization runs, in local time.

    .OUTPUTS
    DirSync.CoexistenceSyncSchedule
    #>
    [CmdletBinding()]
    [OutputType('DirSync.CoexistenceSyncSchedule')]
    param()
    ConvertTo-DirSyncSchedule (Invoke-DirSyncCore -Command 'get-schedule' -Cmdlet $PSCmdlet)
}
