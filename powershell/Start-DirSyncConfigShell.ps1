<#
.SYNOPSIS
Opens the DirSync configuration shell: a pwsh session with the DirSync cmdlets loaded.

.DESCRIPTION
pwsh has no -PSConsoleFile and no snap-ins, so this script gives DirSyncConfigShell.psc1 its meaning:
it checks the console file's PSVersion against this pwsh and imports, for each PSSnapIn it names, the
module of that name beside this script (or from PSModulePath). The console file is the one beside this
script, in the module's folder: a checkout's powershell/, or the installed module's folder. The launchers
DirSyncConfigShell (Linux, macOS) and DirSyncConfigShell.cmd (Windows) of a checkout run it with
pwsh -NoExit; for an installed module it is the launcher itself:
pwsh -NoExit -File <the module's folder>/Start-DirSyncConfigShell.ps1 (docs/install.md).
#>
[CmdletBinding()]
param(
    [string]$ConsoleFile = (Join-Path $PSScriptRoot 'DirSyncConfigShell.psc1'),
    # A command to run once the cmdlets are loaded, before the prompt (setup uses it to start the wizard).
    [string]$Then
)
# The launchers run this script in the administrator's global scope (pwsh -NoExit -File): the loading runs
# in a child scope, so that its strict error preference and its variables do not stay in their session.
& {
    $ErrorActionPreference = 'Stop'
    try {
        [xml]$console = Get-Content -LiteralPath $ConsoleFile -Raw
    } catch {
        throw "The console file '$ConsoleFile' cannot be read as XML: $($_.Exception.Message)"
    }
    if (-not $console.PSConsoleFile -or $console.PSConsoleFile.ConsoleSchemaVersion -ne '1.0') {
        throw "'$ConsoleFile' is not a PowerShell console file (expected <PSConsoleFile ConsoleSchemaVersion=""1.0"">)."
    }
    $required = [version]$console.PSConsoleFile.PSVersion
    if ($PSVersionTable.PSVersion -lt $required) {
        throw "The DirSync shell needs PowerShell $required or later; this is $($PSVersionTable.PSVersion)."
    }
    foreach ($snapIn in @($console.PSConsoleFile.PSSnapIns.PSSnapIn)) {
        if (-not $snapIn) { continue }
        $beside = Join-Path $PSScriptRoot "$($snapIn.Name).psd1"
        Import-Module $(if (Test-Path $beside) { $beside } else { $snapIn.Name }) -Global
    }
    $Host.UI.RawUI.WindowTitle = 'DirSync Configuration Shell'
    Write-Host "DirSync Configuration Shell. Type Get-Command -Module DirSync to list the cmdlets, Start-OnlineCoexistenceSync to synchronize now."
}
if ($Then) { & ([scriptblock]::Create($Then)) }
