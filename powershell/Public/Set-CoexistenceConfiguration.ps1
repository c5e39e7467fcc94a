function Set-CoexistenceConfiguration {
    <#
    .SYNOPSIS
    Changes DirSync's synchronization settings.

    .DESCRIPTION
    Changes the settings of the next synchronization runs: which organizational units are in scope, the
    attribute that excludes an object, staging mode, soft matching, the proxy to Microsoft 365, the
    Exchange hybrid flag and how early Test-CoexistenceSync warns that the app's certificate expires.
    Only the parameters you give change. Every value is checked before anything is saved: an invalid one
    is reported by name and the configuration stays as it was.

    The interval is set with Set-CoexistenceSyncSchedule, accidental-delete protection with
    Set-PreventAccidentalDeletes, the directory and tenant connections with
    Start-CoexistenceConfigurationWizard.

    .PARAMETER IncludeOUs
    Distinguished names of the organizational units to synchronize. Empty: the whole domain. Each must be
    complete (under the domain's DN) and exist in Active Directory, which is asked: else the change is
    refused, naming the DN, and nothing is saved. Each run checks the included OUs again before it reads.

    .PARAMETER ExcludeOUs
    Distinguished names of organizational units never to synchronize, even inside an included one.
    Checked in Active Directory as -IncludeOUs is.

    .PARAMETER ExclusionAttribute
    'attribute=value': an object with this value is not synchronized (default extensionAttribute15=NoSync).
    An empty string turns the exclusion off.

    .PARAMETER StagingMode
    $true: import and plan as usual but write nothing to Microsoft 365 (a live preview).

    .PARAMETER SoftMatch
    $true: adopt an existing cloud user with the same user principal name and no immutable ID.

    .PARAMETER Proxy
    The HTTPS proxy for Microsoft 365, such as http://proxy.contoso.com:8080. An empty string: none. A
    password in it (http://user:password@proxy.contoso.com:8080) is moved to DirSync's secrets store; the
    configuration keeps the URL without it.

    .PARAMETER ExchangeHybrid
    Records whether the Exchange hybrid deployment is in use.

    .PARAMETER CredentialExpiryWarningDays
    How many days before DirSync's certificate expires Test-CoexistenceSync starts to warn (in Reasons,
    and Healthy is $false), so that there is time for Update-CoexistenceCredential: 1 to 365, 30 by default.

    .PARAMETER PassThru
    Returns the configuration after the change.

    .EXAMPLE
    Set-CoexistenceConfiguration -IncludeOUs 'OU=Staff,DC=contoso,DC=com' -ExcludeOUs 'OU=Leavers,OU=Staff,DC=contoso,DC=com'

    Synchronizes only the Staff OU, without its Leavers OU.

    .EXAMPLE
    Set-CoexistenceConfiguration -StagingMode $true -WhatIf

    Shows what would change, and changes nothing.

    .EXAMPLE
    Set-CoexistenceConfiguration -CredentialExpiryWarningDays 60

    Test-CoexistenceSync warns 60 days before the certificate expires.

    .OUTPUTS
    DirSync.CoexistenceConfiguration, with -PassThru.
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('DirSync.CoexistenceConfiguration')]
    param(
        [AllowEmptyCollection()] [string[]]$IncludeOUs,
        [AllowEmptyCollection()] [string[]]$ExcludeOUs,
        [AllowEmptyString()] [string]$ExclusionAttribute,
        [bool]$StagingMode,
        [bool]$SoftMatch,
        [AllowEmptyString()] [string]$Proxy,
        [bool]$ExchangeHybrid,
        [ValidateRange(1, 365)] [int]$CredentialExpiryWarningDays,
        [switch]$PassThru
    )
    # Flat settings, named as the parameters; the core shapes them into the configuration (config.py).
    $names = @{
        IncludeOUs = 'include_ous'; ExcludeOUs = 'exclude_ous'; ExclusionAttribute = 'exclusion_attribute'
        StagingMode = 'staging_mode'; SoftMatch = 'soft_match'; Proxy = 'proxy'; ExchangeHybrid = 'exchange_hybrid'
        CredentialExpiryWarningDays = 'credential_expiry_warning_days'
    }
    $settings = @{}
    foreach ($name in $PSBoundParameters.Keys) {
        if ($names.ContainsKey($name)) { $settings[$names[$name]] = $PSBoundParameters[$name] }
    }
    if (-not $settings.Count) {
        Write-Warning 'No setting was given, so nothing changed. See Get-Help Set-CoexistenceConfiguration -Parameter *.'
        return
    }
    # A proxy password is shown as *** (-WhatIf, -Confirm): the core moves it to the secrets store.
    $description = ($PSBoundParameters.Keys | Where-Object { $names.ContainsKey($_) } | Sort-Object |
        ForEach-Object { "$($_): $(ConvertTo-Json $(if ($_ -eq 'Proxy') { $Proxy -replace '(?<=://[^/@:]*):[^/@]*@', ':***@' } else { $PSBoundParameters[$_] }) -Compress)" }) -join '; '
    if ($PSCmdlet.ShouldProcess('DirSync configuration', "Set $description")) {
        $result = Invoke-DirSyncCore -Command 'set-configuration' -Arguments $settings -Cmdlet $PSCmdlet
        if ($PassThru) { Add-DirSyncTypeName (ConvertTo-PascalCase $result) 'DirSync.CoexistenceConfiguration' }
    }
}
