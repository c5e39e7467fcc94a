# DirSyncConfigShell.psc1 and its launchers: the "open a shell with the cmdlets loaded" entry point.
BeforeAll {
    $script:Root = Resolve-Path (Join-Path $PSScriptRoot '../..')
}

Describe 'DirSyncConfigShell.psc1' {
    It 'is a PowerShell console file naming the DirSync snap-in' {
        [xml]$console = Get-Content (Join-Path $Root 'powershell/DirSyncConfigShell.psc1') -Raw
        $console.PSConsoleFile.ConsoleSchemaVersion | Should -Be '1.0'
        [version]$console.PSConsoleFile.PSVersion | Should -BeLessOrEqual $PSVersionTable.PSVersion
        $console.PSConsoleFile.PSSnapIns.PSSnapIn.Name | Should -Be 'DirSync'
    }

    It 'opens, through the launcher, a session where Get-Command -Module DirSync lists every cmdlet' -Skip:$IsWindows {
        $exported = (Import-PowerShellDataFile (Join-Path $Root 'powershell/DirSync.psd1')).FunctionsToExport
        $output = 'Get-Command -Module DirSync | ForEach-Object Name', 'exit' | & (Join-Path $Root 'DirSyncConfigShell') 2>&1
        $LASTEXITCODE | Should -Be 0
        $screen = ($output -join "`n") -replace '\x1b\[[0-9;?]*[A-Za-z]', ''  # the console's cursor-mode codes
        foreach ($name in $exported) { $screen | Should -Match "(?m)^$name\s*$" }
        $screen | Should -Match 'DirSync Configuration Shell'
    }

    It 'refuses a console file that is not one, saying why' {
        $bad = Join-Path ([IO.Path]::GetTempPath()) "not-a-console-$PID.psc1"
        Set-Content $bad '<Something/>'
        try {
            { & (Join-Path $Root 'powershell/Start-DirSyncConfigShell.ps1') -ConsoleFile $bad } |
                Should -Throw '*is not a PowerShell console file*'
        } finally { Remove-Item $bad }
    }
}
