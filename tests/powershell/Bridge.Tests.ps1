# The in-process bridge: pwsh hosts CPython (pythonnet) and the cmdlets call the Python core.
BeforeAll {
    $script:Root = Resolve-Path (Join-Path $PSScriptRoot '../..')
    $script:Manifest = Join-Path $Root 'powershell/DirSync.psd1'
    $script:Home0 = Join-Path ([IO.Path]::GetTempPath()) "dirsync-pester-$PID"
    New-Item -ItemType Directory -Force $Home0 | Out-Null
    $env:DIRSYNC_HOME = $Home0
    Import-Module $Manifest -Force
    # The probe module gives the tests commands that observe the bridge from the Python side.
    . (Join-Path $PSScriptRoot 'Probe.ps1')
    Register-DirSyncProbe
    function Write-DirSyncConfig([string]$Text) {
        Set-Content -LiteralPath (Join-Path $Home0 'dirsync.json') -Value $Text -NoNewline
    }
}

AfterAll {
    Remove-Module DirSync -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $Home0 -ErrorAction SilentlyContinue
    Remove-Item Env:DIRSYNC_HOME -ErrorAction SilentlyContinue
}

Describe 'Hosting Python in pwsh' {
    It 'runs the core in this process: the engine is initialized and no python child process exists' {
        Write-DirSyncConfig '{}'
        $config = Get-CoexistenceConfiguration
        $config.PSObject.TypeNames[0] | Should -Be 'DirSync.CoexistenceConfiguration'
        [Python.Runtime.PythonEngine]::IsInitialized | Should -BeTrue
        $children = Get-ChildItem /proc -Directory | Where-Object Name -match '^\d+$' | Where-Object {
            $stat = Get-Content "$($_.FullName)/stat" -Raw -ErrorAction SilentlyContinue
            $stat -and ($stat -replace '^.*\) \S+ (\d+) .*$', '$1') -eq "$PID"
        }
        $children | Should -BeNullOrEmpty
    }

    It "sees the system Python's packages (sys.prefix is Python's, not pwsh's)" {
        $environment = Invoke-DirSyncProbe 'get-environment'
        $environment.prefix | Should -Not -Match 'dotnet|pwsh'
        @($environment.path) -match 'dist-packages|site-packages' | Should -Not -BeNullOrEmpty
        $environment.dirsyncPath | Should -BeLike "$Root*"
    }

    It 'survives Remove-Module and Import-Module, and a second import' {
        Remove-Module DirSync
        Import-Module $Manifest
        Import-Module $Manifest -Force
        (Get-CoexistenceConfiguration).Sync.IntervalMinutes | Should -Be 180
    }
}

Describe 'Errors from the core' {
    It 'turns a missing configuration into DirSync.NotConfigured, ObjectNotFound, with the fix' {
        Remove-Item (Join-Path $Home0 'dirsync.json') -ErrorAction SilentlyContinue
        $err = { Get-CoexistenceConfiguration } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be 'DirSync.NotConfigured,Get-CoexistenceConfiguration'
        $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        "$err" | Should -Match 'Start-CoexistenceConfigurationWizard'
    }

    It 'turns an unexpected Python exception into DirSync.UnexpectedError with the Python message' {
        $err = { Invoke-DirSyncProbe 'dirsync_probe:fail_unexpectedly' } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'DirSync.UnexpectedError*'
        "$err" | Should -Match 'ValueError: a probe failure'
    }

    It 'reports <Case> naming the file, the key or line, and the fix, and leaves the file untouched' -ForEach @(
        @{ Case = 'broken syntax'; Text = "{`n  `"sync`": {`n    `"intervalMinutes`": 60,,`n  }`n}"; Expect = 'line 3.*not valid JSON' }
        @{ Case = 'an unknown key'; Text = "{`n  `"sync`": {`n    `"intervalMinute`": 60`n  }`n}"; Expect = "Unknown setting 'sync.intervalMinute'.*line 3.*intervalMinutes" }
        @{ Case = 'a wrong type'; Text = "{`n  `"preventAccidentalDeletes`": {`n    `"enabled`": `"yes`"`n  }`n}"; Expect = "'preventAccidentalDeletes.enabled'.*must be true or false.*line 3" }
    ) {
        Write-DirSyncConfig $Text
        $path = Join-Path $Home0 'dirsync.json'
        $before = (Get-FileHash $path).Hash
        $err = { Get-CoexistenceConfiguration } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be 'DirSync.InvalidConfiguration,Get-CoexistenceConfiguration'
        $err.CategoryInfo.Category | Should -Be 'InvalidData'
        "$err" | Should -Match ([regex]::Escape($path))
        "$err" | Should -Match $Expect
        "$err" | Should -Match 'Correct'
        (Get-FileHash $path).Hash | Should -Be $before
    }
}

Describe 'Events from the core' {
    It 'reaches Write-Progress while the call is still running' {
        $marker = Join-Path $Home0 "progress-seen-$(New-Guid)"
        Mock -ModuleName DirSync Write-Progress { if ($Activity -eq 'Probe') { New-Item -ItemType File $marker | Out-Null } }
        $result = Invoke-DirSyncProbe 'dirsync_probe:progress_then_wait' @{ marker = $marker }
        $result.seen | Should -BeTrue
        Should -Invoke -ModuleName DirSync Write-Progress -ParameterFilter { $Activity -eq 'Probe' -and $PercentComplete -eq 50 }
    }

    It 'shows notice events on the host, without -Verbose, also in pwsh -NonInteractive' {
        $shown = Invoke-DirSyncProbe 'dirsync_probe:notice' @{ message = "To sign in, open https://login.test/device and enter the code AB12`e[2J" } 6>&1
        $notice = @($shown | Where-Object { $_ -is [System.Management.Automation.InformationRecord] })
        $notice.Count | Should -Be 1
        $notice[0].Tags | Should -Contain 'PSHOST'  # Write-Host: what the person sees, whatever the preferences
        "$($notice[0].MessageData)" | Should -Be 'To sign in, open https://login.test/device and enter the code AB12\x1b[2J'
    }

    It 'shows verbose events with -Verbose only' {
        Write-DirSyncConfig '{}'
        $with = Get-CoexistenceConfiguration -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        $with.Message | Should -Match 'Reading the configuration from .*dirsync.json'
        $without = Get-CoexistenceConfiguration 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        $without | Should -BeNullOrEmpty
    }
}

Describe 'Process exit' {
    It 'lets 20 consecutive pwsh processes import the module, call a cmdlet and exit 0 within 10 s each' {
        # Measured from the moment the cmdlet has returned (the marker line): an exit hang shows there,
        # whatever else keeps the machine busy while pwsh starts.
        $pwsh = (Get-Command pwsh -CommandType Application | Select-Object -First 1).Source
        $script = "Import-Module '$Manifest'; `$null = Get-CoexistenceConfiguration; 'cmdlet returned'"
        foreach ($i in 1..20) {
            $info = [System.Diagnostics.ProcessStartInfo]::new($pwsh)
            foreach ($a in '-NoProfile', '-NonInteractive', '-Command', $script) { $info.ArgumentList.Add($a) }
            $info.Environment['DIRSYNC_HOME'] = $Home0
            $info.RedirectStandardOutput = $true
            $info.RedirectStandardError = $true
            $process = [System.Diagnostics.Process]::Start($info)
            $stderr = $process.StandardError.ReadToEndAsync()
            $marker = $process.StandardOutput.ReadLineAsync()
            # stderr is read only once the process is gone: reading it earlier would wait on a hung pwsh.
            if (-not $marker.Wait(120000)) {
                $process.Kill($true)
                throw "run $i never reached the cmdlet: $($stderr.Result)"
            }
            $marker.Result | Should -Be 'cmdlet returned'
            $exited = $process.WaitForExit(10000)
            if (-not $exited) { $process.Kill($true) }
            $exited | Should -BeTrue -Because "run $i must not hang at exit"
            $process.ExitCode | Should -Be 0 -Because "run $i failed: $($stderr.Result)"
        }
    }
}
