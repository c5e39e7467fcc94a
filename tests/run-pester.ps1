# Runs every Pester test of the project with the pinned Pester; exits non-zero on any failure.
param([string[]]$Path = (Join-Path $PSScriptRoot 'powershell'))
$ErrorActionPreference = 'Stop'
Import-Module Pester -RequiredVersion 5.7.1
$configuration = New-PesterConfiguration
$configuration.Run.Path = $Path
$configuration.Run.Exit = $true
$configuration.Output.Verbosity = 'Detailed'
$configuration.Output.CIFormat = 'None'
Invoke-Pester -Configuration $configuration
