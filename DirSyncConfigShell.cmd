@echo off
rem Opens a pwsh window with the DirSync cmdlets loaded (double-click it, as DirSyncConfigShell.psc1 once was).
pwsh.exe -NoExit -NoLogo -File "%~dp0powershell\Start-DirSyncConfigShell.ps1" %*
