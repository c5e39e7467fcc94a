@{
    RootModule           = 'DirSync.psm1'
    ModuleVersion        = '0.1.0'
    GUID                 = '5b7f3c1e-2d4a-4c8e-9a61-0d2f1e8b7c44'
    Author               = 'DirSync'
    Description          = 'Synchronize on-premises Active Directory users and groups into Microsoft 365, the DirSync way.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('DirSync.Format.ps1xml')
    FunctionsToExport    = @(
        'Get-CoexistenceConfiguration'
        'Set-CoexistenceConfiguration'
        'Get-PreventAccidentalDeletes'
        'Set-PreventAccidentalDeletes'
        'Get-CoexistenceSyncSchedule'
        'Set-CoexistenceSyncSchedule'
        'Start-CoexistenceConfigurationWizard'
        'Start-OnlineCoexistenceSync'
        'Get-CoexistenceObject'
        'Get-CoexistenceSyncHistory'
        'Test-CoexistenceSync'
        'Update-CoexistenceCredential'
        'Send-CoexistenceTestNotification'
    )
    CmdletsToExport      = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{ PSData = @{ Tags = @('ActiveDirectory', 'Microsoft365', 'EntraID', 'DirSync') } }
}
