# Turns the core's schedule into the object Get- and Set-CoexistenceSyncSchedule return.
function ConvertTo-DirSyncSchedule($Result) {
    $schedule = ConvertTo-PascalCase $Result
    $schedule | Add-Member -NotePropertyName Interval -NotePropertyValue ([timespan]::FromMinutes($schedule.IntervalMinutes))
    foreach ($name in 'NextRunTime', 'LastRunTime') {
        $schedule.$name = ConvertFrom-DirSyncTime $schedule.$name
    }
    Add-DirSyncTypeName $schedule 'DirSync.CoexistenceSyncSchedule'
}
