# The DirSync shell leaves the administrator's session as pwsh makes it: a stopped run at the prompt
# shows its result, then its error, and `$r = Start-OnlineCoexistenceSync` holds the result.
BeforeAll {
    $script:Root = Resolve-Path (Join-Path $PSScriptRoot '../..')
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) "dirsync-health-$PID"
    $script:StoppedHome = Join-Path $Work 'home'
    New-Item -ItemType Directory -Force $StoppedHome | Out-Null
    # A configured home whose run stops at once (the app's key is missing): a real stopped run, in a second.
    $code = "import sys; from dataclasses import replace; from pathlib import Path; from dirsync import config, secrets; " +
            "h = Path(sys.argv[1]); c = config.Configuration(); " +
            "c = replace(c, active_directory=replace(c.active_directory, server='127.0.0.1', port=1)); " +
            "config.save(c, h); secrets.store_secret(h, secrets.AD_SERVICE_ACCOUNT_PASSWORD, 'unused')"
    $env:PYTHONPATH, $script:PythonPath0 = (Join-Path $Root 'python'), $env:PYTHONPATH
    /usr/bin/python3 -c $code $StoppedHome
    if ($LASTEXITCODE) { throw 'The stopped home could not be made.' }
}

AfterAll {
    $env:PYTHONPATH = $PythonPath0
    Remove-Item -Recurse -Force $Work -ErrorAction SilentlyContinue
}

Describe 'The DirSync shell at the prompt' -Skip:$IsWindows {
    It 'keeps the session''s error preference and gives $r the result of a stopped run, then the error' {
        $env:DIRSYNC_HOME = $StoppedHome
        try {
            $typed = '$r = Start-OnlineCoexistenceSync', '"PREFERENCE=$ErrorActionPreference"',
                     '"STATUS=$($r.Status) FAILED=$($r.Failed)"', 'exit'
            $output = $typed | & (Join-Path $Root 'DirSyncConfigShell') 2>&1
        } finally { Remove-Item Env:DIRSYNC_HOME }
        $screen = ($output -join "`n") -replace '\x1b\[[0-9;?]*[A-Za-z]', ''
        $screen | Should -Match 'PREFERENCE=Continue'
        $screen | Should -Match 'STATUS=stopped-error FAILED=True'
        $screen | Should -Match 'The synchronization stopped \(stopped-error\)'
    }
}
