# Runs every Pester test of the project with the pinned Pester; exits non-zero on any failure.
param([string[]]$Path = (Join-Path $PSScriptRoot 'powershell'))
$ErrorActionPreference = 'Stop'
Import-Module Pester -RequiredVersion 5.7.1
$configuration = New-PesterConfiguration
$configuration.Run.Path = $Path
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
$configuration.Output.CIFormat = 'None'
$result = Invoke-Pester -Configuration $configuration
# The plain closing line CI reads, after Pester's own summary.
"Pester: $($result.PassedCount) passed, $($result.FailedCount) failed, $($result.SkippedCount) skipped"
exit $(if ($result.Result -eq 'Passed') { 0 } else { 1 })
