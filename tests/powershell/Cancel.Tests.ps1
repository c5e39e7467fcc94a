# Ctrl+C on a cmdlet: PowerShell.Stop() on a runspace running it is what the console does. The cmdlet's
# finally asks the core to stop and waits for it, so the prompt returns only once the core has ended (a
# run has committed what was written and released its lock by then).
BeforeAll {
    $script:Root = Resolve-Path (Join-Path $PSScriptRoot '../..')
    $script:Manifest = Join-Path $Root 'powershell/DirSync.psd1'
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) "dirsync-cancel-$PID"
    New-Item -ItemType Directory -Force $Work | Out-Null
    Import-Module $Manifest -Force
    . (Join-Path $PSScriptRoot 'Probe.ps1')
    Register-DirSyncProbe  # the probe's path is the process's one Python's: the runspace below sees it too
}

AfterAll {
    Remove-Module DirSync -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $Work -ErrorAction SilentlyContinue
}

Describe 'Stopping a running command' {
    It 'returns from Stop() only once the core has ended' {
        $started = Join-Path $Work 'started'
        $ended = Join-Path $Work 'ended'
        $shell = [powershell]::Create()
        try {
            $null = $shell.AddScript({
                param($Manifest, $Started, $Ended)
                Import-Module $Manifest
                & (Get-Module DirSync) {
                    param($Started, $Ended)
                    & { [CmdletBinding()] param()
                        Invoke-DirSyncCore -Command 'dirsync_probe:work_until_cancelled' -Cmdlet $PSCmdlet `
                            -Arguments @{ started = $Started; ended = $Ended } }
                } $Started $Ended
            }).AddArgument($Manifest).AddArgument($started).AddArgument($ended)
            $running = $shell.BeginInvoke()
            $deadline = [datetime]::UtcNow.AddSeconds(30)
            while (-not (Test-Path $started) -and [datetime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
            Test-Path $started | Should -BeTrue
            $shell.Stop()  # Ctrl+C
            Test-Path $ended | Should -BeTrue
            $running.IsCompleted | Should -BeTrue
        } finally {
            $shell.Dispose()
        }
    }
}
