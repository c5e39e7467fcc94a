# Turns a run result of the core into the DirSync.RunResult object Start-OnlineCoexistenceSync and
# Get-CoexistenceSyncHistory return: the counts (Added, Updated, Deleted, …) are lifted to the top so
# that tables and Where-Object can use them.
function ConvertTo-DirSyncRunResult($Result) {
    $run = ConvertTo-PascalCase $Result
    foreach ($name in 'StartTime', 'EndTime') {
        $run.$name = ConvertFrom-DirSyncTime $run.$name
    }
    $duration = if ($run.StartTime -and $run.EndTime) { $run.EndTime - $run.StartTime }
    $run | Add-Member -NotePropertyName Duration -NotePropertyValue $duration
    foreach ($count in $run.Counts.PSObject.Properties) {
        # Errors and Skipped stay the lists of objects; their numbers are in Counts.
        if (-not $run.PSObject.Properties[$count.Name]) {
            $run | Add-Member -NotePropertyName $count.Name -NotePropertyValue $count.Value
        }
    }
    foreach ($failure in @($run.Errors)) {
        if ($failure) { $null = Add-DirSyncTypeName $failure 'DirSync.ObjectError' }
    }
    $null = Add-DirSyncTypeName $run 'DirSync.RunResult'
    # A preview has a table of its own: the plan's writes and their time at the write quota first.
    if ($run.Preview) { $null = Add-DirSyncTypeName $run 'DirSync.RunPreview' }
    $run
}

# -NonInteractive is how scheduled tasks and admin scripts run pwsh; there a failed run must stop the script.
function Test-DirSyncNonInteractive {
    [bool]([Environment]::GetCommandLineArgs() | Where-Object { $_ -match '^-noni' -and 'noninteractive'.StartsWith($_.Substring(1).ToLowerInvariant()) })
}
