# The demo's PowerShell part (`dirsync-lab demo` runs it, and so scripts/demo.sh): the administrator's
# workflow against the demo lab, with the DirSync module $Module (the installed one by default).
param(
    [Parameter(Mandatory)] [string]$Lab,
    [Parameter(Mandatory)] [string]$DirSyncHome,
    [string]$Module = 'DirSync'
)
$ErrorActionPreference = 'Stop'
$env:DIRSYNC_HOME = $DirSyncHome
$loaded = Import-Module $Module -PassThru
$facts = Get-Content (Join-Path $Lab 'lab.json') -Raw | ConvertFrom-Json
function Step([string]$Text) { Write-Host "`n==> $Text" -ForegroundColor Cyan }

Write-Host "DirSync module $($loaded.Version) from $($loaded.ModuleBase)"

Step 'Start-CoexistenceConfigurationWizard, from a script (every page answered by a parameter)'
$admin = [pscredential]::new($facts.activeDirectory.adminUser,
    (ConvertTo-SecureString $facts.activeDirectory.adminPassword -AsPlainText -Force))
$wizard = @{
    # Page 1, Microsoft 365: the lab's administrator signs in with a device code (the lab approves it) and
    # DirSync creates its own app registration, certificate and permissions in the local tenant.
    UseDeviceCode = $true
    AuthorityHost = $facts.tenant.authorityHost; GraphEndpoint = $facts.tenant.graphEndpoint; TenantCAFile = $facts.tenant.caFile
    # Page 2, Active Directory: the demo domain controller and its Enterprise Admin (used once, not kept).
    DomainController = $facts.activeDirectory.server; DomainControllerCAFile = $facts.activeDirectory.caFile
    EnterpriseAdminCredential = $admin
    # Page 3 and the finish page.
    ExchangeHybrid = $false; SynchronizeNow = $false
}
Start-CoexistenceConfigurationWizard @wizard | Out-Host

Step "Set-CoexistenceConfiguration: leave out the bulk OU (1,600 users would take minutes at Microsoft 365's write quota)"
Set-CoexistenceConfiguration -ExcludeOUs "OU=Bulk,OU=Corp,$($facts.activeDirectory.baseDN)" -PassThru | Out-Host

Step 'Start-OnlineCoexistenceSync'
$run = Start-OnlineCoexistenceSync
$run | Format-List Status, Mode, StartTime, Duration, Imported, InScope, Added, Updated, Deleted, MembershipChanges, ManagerChanges | Out-Host
$run.Skipped | ForEach-Object { Write-Host "  skipped: $($_.Dn)`n           $($_.Reason)" }

Step 'Test-CoexistenceSync'
Test-CoexistenceSync | Out-Host

Step 'Get-CoexistenceSyncSchedule (registered by the wizard)'
Get-CoexistenceSyncSchedule | Out-Host
