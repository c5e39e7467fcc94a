function Get-CoexistenceConfiguration {
    <#
    .SYNOPSIS
    Shows how DirSync is configured on this computer.

    .DESCRIPTION
    Returns the DirSync configuration: the Active Directory forest and service account, the Microsoft 365
    tenant and application, the synchronization settings (interval, scope, staging mode) and the
    accidental-delete protection. The object holds no secret: passwords, client secrets and private keys
    are kept in DirSync's protected secrets store, never in the configuration.

    The configuration is read from the DirSync home folder: $env:DIRSYNC_HOME when set, otherwise
    ~/.local/share/dirsync on Linux and macOS, %ProgramData%\DirSync on Windows.

    .EXAMPLE
    Get-CoexistenceConfiguration

    Shows the configuration of this DirSync installation.

    .EXAMPLE
    (Get-CoexistenceConfiguration).Sync.IntervalMinutes

    Shows how often DirSync synchronizes, in minutes.

    .OUTPUTS
    DirSync.CoexistenceConfiguration
    #>
    [CmdletBinding()]
    [OutputType('DirSync.CoexistenceConfiguration')]
    param()
    $result = Invoke-DirSyncCore -Command 'get-configuration' -Cmdlet $PSCmdlet
    Add-DirSyncTypeName (ConvertTo-PascalCase $result) 'DirSync.CoexistenceConfiguration'
}
