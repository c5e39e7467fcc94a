function Set-CoexistenceSyncSchedule {
    <#
    .SYNOPSIS
    Turns the recurring synchronization on or off, or changes how often it runs.

    .DESCRIPTION
    -Interval sets how often DirSync synchronizes (30 minutes to 7 days; three hours by default) and is kept
    in the configuration. -Enabled $true registers the synchronization with the operating system's
    scheduler (systemd timer, Scheduled Task or cron), -Enabled $false removes it. A scheduled run that
    finds another run in progress skips its turn and says so in Get-CoexistenceSyncHistory.

    .PARAMETER Interval
    How often to synchronize, such as 3:00:00 or (New-TimeSpan -Hours 3). Whole minutes.

    .PARAMETER Enabled
    $true to register the recurring synchronization, $false to remove it. Left out: unchanged.

    .PARAMETER PassThru
    Returns the schedule after the change.

    .EXAMPLE
    Set-CoexistenceSyncSchedule -Enabled $true

    Synchronizes every three hours from now on.

    .EXAMPLE
    Set-CoexistenceSyncSchedule -Interval 1:00:00 -PassThru

    Synchronizes every hour and shows when the next run is.

    .OUTPUTS
    DirSync.CoexistenceSyncSchedule, with -PassThru.
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('DirSync.CoexistenceSyncSchedule')]
    param(
        [timespan]$Interval,
        [bool]$Enabled,
        [switch]$PassThru
    )
    $arguments = @{}
    if ($PSBoundParameters.ContainsKey('Interval')) {
        if ($Interval.Ticks % [timespan]::TicksPerMinute) {
            $PSCmdlet.ThrowTerminatingError((New-DirSyncErrorRecord ([pscustomobject]@{
                message = "The interval $Interval is not a whole number of minutes."; fix = 'Give whole minutes, such as 3:00:00.'
                errorId = 'DirSync.InvalidArgument'; category = 'InvalidArgument'; target = "$Interval" })))
        }
        $arguments.interval_minutes = [int]$Interval.TotalMinutes
    }
    if ($PSBoundParameters.ContainsKey('Enabled')) { $arguments.enabled = $Enabled }
    if (-not $arguments.Count) {
        Write-Warning 'Give -Interval or -Enabled; nothing changed.'
        return
    }
    $what = @(
        if ($arguments.ContainsKey('interval_minutes')) { "every $($arguments.interval_minutes) minutes" }
        if ($arguments.ContainsKey('enabled')) { if ($Enabled) { 'register with the scheduler' } else { 'remove from the scheduler' } }
    ) -join ', '
    if ($PSCmdlet.ShouldProcess('DirSync synchronization schedule', $what)) {
        $result = Invoke-DirSyncCore -Command 'set-schedule' -Arguments $arguments -Cmdlet $PSCmdlet
        if ($PassThru) { ConvertTo-DirSyncSchedule $result }
    }
}
