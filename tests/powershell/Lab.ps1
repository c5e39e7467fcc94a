# Dot-sourced by the Pester tests that run against the demo lab (dirsync-lab up): their common teardown.
function Stop-DirSyncLab([string]$Lab, [string]$Work, [string]$DirSyncHome, [string]$PythonPath) {
    # A wizard that failed left no configuration, hence no schedule: the schedule cmdlet would then stop
    # the teardown before the lab is down.
    if (Test-Path (Join-Path $DirSyncHome 'dirsync.json')) { Set-CoexistenceSyncSchedule -Enabled $false }
    Remove-Module DirSync -ErrorAction SilentlyContinue
    /usr/bin/python3 -m dirsync_lab down --dir $Lab
    $env:PYTHONPATH = $PythonPath
    Remove-Item -Recurse -Force $Work -ErrorAction SilentlyContinue
    Remove-Item Env:DIRSYNC_HOME -ErrorAction SilentlyContinue
}
