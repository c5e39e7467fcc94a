function Start-CoexistenceConfigurationWizard {
    <#
    .SYNOPSIS
    Configures directory synchronization: Microsoft 365, Active Directory, Exchange hybrid, and a first sync.

    .DESCRIPTION
    The DirSync configuration wizard. Its pages, as in the original tool:

    1. Microsoft 365: the tenant and the application DirSync signs in as (a certificate, or a client
       secret). The sign-in is tried at once.
    2. Active Directory: the domain controller, then (checked at once: if the DC's certificate is not
       trusted, the wizard asks for the CA that issued it) Enterprise Admin credentials. The wizard creates
       this installation's own account, MSOL_<installation id>, in the Users container of the forest root
       domain (or resets its password on a re-run in the same DirSync home), gives it a long random
       password that never expires and grants it Replicating Directory Changes. A wizard in another home
       makes that home's own account. The Enterprise Admin credentials are not saved and are not kept
       after this step.
    3. Exchange hybrid deployment: recorded.
    4. Finish: the configuration is saved, a synchronization every three hours is registered with the
       operating system's scheduler, and with "Synchronize directories now" (the default) the first
       synchronization runs at once.

    Every answer has a parameter, so a script can run the wizard with no prompt; an answer left out is
    asked for at the prompt (in pwsh -NonInteractive the wizard says which parameter to give instead).
    Nothing is saved unless pages 1 and 2 succeed. Re-running the wizard updates the configuration; the
    current values are offered as defaults.

    .PARAMETER TenantId
    The Microsoft 365 tenant (directory) ID.

    .PARAMETER ClientId
    The application (client) ID of the app registration DirSync signs in as.

    .PARAMETER CertificateFile
    The app's certificate (PEM, public part). With -CertificateKeyFile. The recommended credential.

    .PARAMETER CertificateKeyFile
    The certificate's private key (PEM). It is copied into DirSync's protected secrets store.

    .PARAMETER ClientSecret
    The app's client secret, instead of a certificate.

    .PARAMETER AuthorityHost
    The sign-in service; https://login.microsoftonline.com unless a national cloud or the local tenant.

    .PARAMETER GraphEndpoint
    Microsoft Graph; https://graph.microsoft.com unless a national cloud or the local tenant.

    .PARAMETER TenantCAFile
    An extra certificate authority to trust for sign-in and Graph (the local tenant's ca.pem).

    .PARAMETER DomainController
    The DNS name of a domain controller of the forest root domain.

    .PARAMETER Port
    The LDAP port: 636 for LDAPS (the default), 389 with -Transport starttls.

    .PARAMETER Transport
    ldaps (the default) or starttls. DirSync never binds without TLS.

    .PARAMETER DomainControllerCAFile
    The certificate authority that issued the domain controller's certificate (PEM), if the system does not
    trust it already. Asked for at the prompt when the certificate is not trusted.

    .PARAMETER EnterpriseAdminCredential
    Enterprise Admin credentials, used once to create the installation's MSOL_<id> account and then dropped.

    .PARAMETER ExchangeHybrid
    Whether the Exchange hybrid deployment is in use.

    .PARAMETER SynchronizeNow
    Start the first synchronization when the wizard finishes ($true unless told otherwise).

    .EXAMPLE
    Start-CoexistenceConfigurationWizard

    Runs the wizard at the prompt, page by page.

    .EXAMPLE
    $admin = Get-Credential CONTOSO\Administrator
    Start-CoexistenceConfigurationWizard -TenantId $tenantId -ClientId $appId -CertificateFile ./dirsync.pem `
        -CertificateKeyFile ./dirsync.key -DomainController dc1.contoso.com -EnterpriseAdminCredential $admin `
        -ExchangeHybrid $false -SynchronizeNow $true

    Configures DirSync from a script, with no prompt.

    .OUTPUTS
    DirSync.ConfigurationWizardResult
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('DirSync.ConfigurationWizardResult')]
    param(
        [string]$TenantId,
        [string]$ClientId,
        [string]$CertificateFile,
        [string]$CertificateKeyFile,
        [securestring]$ClientSecret,
        [string]$AuthorityHost,
        [string]$GraphEndpoint,
        [string]$TenantCAFile,
        [string]$DomainController,
        [int]$Port,
        [ValidateSet('ldaps', 'starttls')] [string]$Transport,
        [string]$DomainControllerCAFile,
        [pscredential]$EnterpriseAdminCredential,
        [bool]$ExchangeHybrid,
        [bool]$SynchronizeNow
    )
    # A re-run offers the current answers as defaults; a first run has none. (An inner scope, because a
    # terminating error of this cmdlet itself could not be caught here.)
    $current = try { & { [CmdletBinding()] param() Invoke-DirSyncCore -Command 'get-configuration' -Cmdlet $PSCmdlet } } catch { $null }

    # --- Page 1: Microsoft 365 ---
    # Paths are resolved here: pwsh's current location is not the process's. The core shapes the answers
    # into the configuration (wizard.sections), as for `dirsync configure`.
    if ($TenantCAFile) { $TenantCAFile = (Resolve-Path $TenantCAFile).ProviderPath }
    if (-not $TenantId) {
        $TenantId = Read-WizardAnswer 'Microsoft 365' 'Tenant ID' 'TenantId' $(if ($current) { $current.tenant.tenantId })
    }
    if (-not $ClientId) {
        $ClientId = Read-WizardAnswer 'Microsoft 365' 'Application (client) ID' 'ClientId' $(if ($current) { $current.tenant.clientId })
    }
    $secret = $null
    $useSecret = [bool]$ClientSecret
    if ($useSecret) {
        $secret = [System.Net.NetworkCredential]::new('', $ClientSecret).Password
    } elseif (-not $CertificateFile) {
        $choice = Read-WizardChoice 'Microsoft 365' 'How does DirSync sign in?' 'CertificateFile or -ClientSecret' @('&Certificate', 'Client &secret') 0
        $useSecret = $choice -eq 1
        if ($useSecret) {
            $secret = [System.Net.NetworkCredential]::new('', (Read-WizardAnswer 'Microsoft 365' 'Client secret' 'ClientSecret' -Secure)).Password
        } else {
            $CertificateFile = Read-WizardAnswer 'Microsoft 365' 'Certificate file (PEM)' 'CertificateFile' $(if ($current) { $current.tenant.certificateFile })
            $CertificateKeyFile = Read-WizardAnswer 'Microsoft 365' 'Private key file (PEM)' 'CertificateKeyFile'
        }
    }
    if ($useSecret) {
        $CertificateFile = $null  # a client secret wins over a certificate file (wizard.sections)
    } else {
        $CertificateFile = (Resolve-Path $CertificateFile).ProviderPath
        if ($CertificateKeyFile) { $CertificateKeyFile = (Resolve-Path $CertificateKeyFile).ProviderPath }
    }

    # --- Page 2: Active Directory ---
    if ($DomainControllerCAFile) { $DomainControllerCAFile = (Resolve-Path $DomainControllerCAFile).ProviderPath }
    if (-not $DomainController) {
        $DomainController = Read-WizardAnswer 'Active Directory' 'Domain controller' 'DomainController' $(if ($current) { $current.activeDirectory.server })
    }
    # The DC's certificate is checked before the Enterprise Admin password is asked for; if it is not
    # trusted, its CA is asked for here and checked again, and every answer given so far is kept.
    while ($true) {
        $dc = @{ domain_controller = $DomainController; port = $Port; transport = $Transport; domain_controller_ca_file = $DomainControllerCAFile }
        $untrusted = $null
        try {
            & { [CmdletBinding()] param() Invoke-DirSyncCore -Command 'check-domain-controller' -Arguments $dc -Cmdlet $PSCmdlet } | Out-Null
        } catch {
            # Any other fault (an unreachable DC) is reported by the wizard's own step, as before.
            if ($_.FullyQualifiedErrorId -like 'DirSync.UntrustedCertificate*') { $untrusted = $_ }
        }
        if (-not $untrusted) { break }
        Write-Warning $untrusted.Exception.Message
        try {
            $DomainControllerCAFile = Read-WizardAnswer 'Active Directory' "CA certificate that issued $DomainController's certificate (PEM file)" 'DomainControllerCAFile'
        } catch {
            $PSCmdlet.ThrowTerminatingError($untrusted)  # not interactive: the certificate error says what to give
        }
        $DomainControllerCAFile = (Resolve-Path $DomainControllerCAFile).ProviderPath
    }
    $askCredential = -not $EnterpriseAdminCredential
    while ($askCredential) {
        $EnterpriseAdminCredential = Invoke-WizardPrompt 'EnterpriseAdminCredential' {
            Get-Credential -Message 'Active Directory: Enterprise Admin credentials (not saved; used once to create DirSync''s service account)'
        }
        # Credentials typed at the prompt are tried at once: refused ones are asked for again, alone.
        $signIn = $dc + @{ admin_user = $EnterpriseAdminCredential.UserName
                           admin_password = $EnterpriseAdminCredential.GetNetworkCredential().Password }
        $askCredential = $false
        try {
            & { [CmdletBinding()] param() Invoke-DirSyncCore -Command 'check-domain-controller' -Arguments $signIn -Cmdlet $PSCmdlet } | Out-Null
        } catch {
            if ($_.FullyQualifiedErrorId -notlike 'DirSync.AuthenticationFailed*') { break }  # reported by the wizard's step
            Write-Warning $_.Exception.Message
            $askCredential = $true
        }
        $signIn = $null
    }

    # --- Page 3: Exchange hybrid deployment ---
    if (-not $PSBoundParameters.ContainsKey('ExchangeHybrid')) {
        $ExchangeHybrid = 0 -eq (Read-WizardChoice 'Exchange hybrid deployment' 'Enable Exchange hybrid deployment?' 'ExchangeHybrid' @('&Yes', '&No') 1)
    }

    # --- Page 4: Finish ---
    if (-not $PSBoundParameters.ContainsKey('SynchronizeNow')) {
        $SynchronizeNow = 0 -eq (Read-WizardChoice 'Finished' 'Synchronize directories now?' 'SynchronizeNow' @('&Yes', '&No') 0)
    }

    if (-not $PSCmdlet.ShouldProcess("tenant $TenantId and domain controller $DomainController", 'Configure directory synchronization')) { return }
    $arguments = @{
        tenant_id = $TenantId; client_id = $ClientId; authority_host = $AuthorityHost; graph_endpoint = $GraphEndpoint
        tenant_ca_file = $TenantCAFile; certificate_file = $CertificateFile; client_secret = $secret
        certificate_key_file = $CertificateKeyFile
        domain_controller = $DomainController; port = $Port; transport = $Transport
        domain_controller_ca_file = $DomainControllerCAFile
        admin_user = $EnterpriseAdminCredential.UserName
        admin_password = $EnterpriseAdminCredential.GetNetworkCredential().Password
        exchange_hybrid = $ExchangeHybrid; sync_now = $SynchronizeNow
    }
    $result = Invoke-DirSyncCore -Command 'configure' -Arguments $arguments -Cmdlet $PSCmdlet
    $out = [pscustomobject]@{
        Configuration  = Add-DirSyncTypeName (ConvertTo-PascalCase $result.configuration) 'DirSync.CoexistenceConfiguration'
        ServiceAccount = ConvertTo-PascalCase $result.serviceAccount
        Schedule       = ConvertTo-DirSyncSchedule $result.schedule
        SyncResult     = if ($result.syncResult) { ConvertTo-DirSyncRunResult $result.syncResult }
    }
    Add-DirSyncTypeName $out 'DirSync.ConfigurationWizardResult'
}
