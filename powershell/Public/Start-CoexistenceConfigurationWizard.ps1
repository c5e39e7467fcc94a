function Start-CoexistenceConfigurationWizard {
    <#
    .SYNOPSIS
    Configures directory synchronization: Microsoft 365, Active Directory, Exchange hybrid, and a first sync.

    .DESCRIPTION
    The DirSync configuration wizard. Its pages, as in the original tool:

    1. Microsoft 365: how DirSync gets its cloud identity.
       - Sign in as an administrator (the default): the administrator signs in once, in a browser where
         this machine has one, else with a device code (-UseDeviceCode: the wizard says which page to open
         and which code to type). DirSync then creates, or on a re-run finds and updates, its own app
         registration in the tenant: a single-tenant app named after this server, its service principal, a
         certificate made on this machine (the private key stays here, in DirSync's secrets store), the four
         Microsoft Graph application permissions DirSync needs, granted by app role assignments, and the
         ownership of its own registration (for the group anchor). It waits until the new app can sign in,
         then signs in as it and checks each permission. Granting Graph application permissions needs the
         Privileged Role Administrator or Global Administrator role; without it the wizard names the role
         and creates nothing. The administrator's tokens are kept in memory for this step only and written
         nowhere.
       - Use an app I registered (-ClientId): the tenant and the app DirSync signs in as, with a
         certificate or a client secret. The sign-in is tried at once and the app's permissions are checked.
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
    current values are offered as defaults. With the administrator's sign-in, a re-run keeps the one app
    registration and gives it a new certificate; an app left half made by a failed run is completed.

    -WhatIf with the administrator's sign-in signs in, changes nothing and lists each change it would make
    in the tenant ("What if: Performing the operation "create" on target ..."); with -ClientId it changes
    nothing and says what it would configure.

    .PARAMETER UseDeviceCode
    The administrator signs in with a device code (on any device with a browser) instead of a browser on
    this machine: for a server without a desktop, and for scripts. The code and the page to open are shown
    at once, also in pwsh -NonInteractive. -UseDeviceCode:$false chooses a browser on this machine without
    the question. A tenant whose Conditional Access blocks the device code flow refuses it: sign in with a
    browser instead.

    .PARAMETER TenantId
    The Microsoft 365 tenant (directory) ID or a verified domain of it. With the administrator's sign-in
    it may be left out: the sign-in finds the administrator's tenant.

    .PARAMETER ClientId
    The application (client) ID of an app registration you made for DirSync ("Use an app I registered").
    The app needs the Graph application permissions listed in docs/administrator-guide.md, Permissions.

    .PARAMETER CertificateFile
    The app's certificate (PEM, public part), with -ClientId. With -CertificateKeyFile. The recommended
    credential.

    .PARAMETER CertificateKeyFile
    The certificate's private key (PEM), with -ClientId. It is copied into DirSync's protected secrets store.

    .PARAMETER ClientSecret
    The app's client secret, with -ClientId, instead of a certificate.

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

    Runs the wizard at the prompt, page by page. Page 1 asks how DirSync gets its cloud identity; the
    default, "Sign in as an administrator", opens the sign-in in a browser (or shows a device code).

    .EXAMPLE
    $admin = Get-Credential CONTOSO\Administrator
    Start-CoexistenceConfigurationWizard -UseDeviceCode -DomainController dc1.contoso.com `
        -EnterpriseAdminCredential $admin -ExchangeHybrid $false -SynchronizeNow $true

    From a script on a server without a browser: the wizard prints "To sign in, use a web browser to open
    the page https://microsoft.com/devicelogin and enter the code ...", waits until a Privileged Role
    Administrator or Global Administrator has signed in with it, creates DirSync's app registration and
    configures the rest with no prompt.

    .EXAMPLE
    Start-CoexistenceConfigurationWizard -UseDeviceCode -DomainController dc1.contoso.com `
        -EnterpriseAdminCredential $admin -ExchangeHybrid $false -WhatIf

    Signs the administrator in and lists what the wizard would create or change in the tenant (the app
    registration, its service principal, its certificate, each permission, its owner). Nothing is changed
    and nothing is saved.

    .EXAMPLE
    $admin = Get-Credential CONTOSO\Administrator
    Start-CoexistenceConfigurationWizard -TenantId $tenantId -ClientId $appId -CertificateFile ./dirsync.pem `
        -CertificateKeyFile ./dirsync.key -DomainController dc1.contoso.com -EnterpriseAdminCredential $admin `
        -ExchangeHybrid $false -SynchronizeNow $true

    With an app you registered yourself (bring your own app), from a script, with no prompt.

    .OUTPUTS
    DirSync.ConfigurationWizardResult
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium', DefaultParameterSetName = 'SignIn')]
    [OutputType('DirSync.ConfigurationWizardResult')]
    param(
        [Parameter(ParameterSetName = 'SignIn')] [switch]$UseDeviceCode,
        [string]$TenantId,
        [Parameter(Mandatory, ParameterSetName = 'OwnApp')] [string]$ClientId,
        [Parameter(ParameterSetName = 'OwnApp')] [string]$CertificateFile,
        [Parameter(ParameterSetName = 'OwnApp')] [string]$CertificateKeyFile,
        [Parameter(ParameterSetName = 'OwnApp')] [securestring]$ClientSecret,
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
    # -ClientId chooses the app you registered, -UseDeviceCode (even :$false) the administrator's sign-in;
    # with neither, the question is asked.
    $ownApp = $PSCmdlet.ParameterSetName -eq 'OwnApp'
    if (-not $ownApp -and -not $PSBoundParameters.ContainsKey('UseDeviceCode')) {
        $ownApp = 1 -eq (Read-WizardChoice 'Microsoft 365' 'How does DirSync get its cloud identity?' 'UseDeviceCode or -ClientId' @(
            '&Sign in as an administrator (DirSync creates its own app)', '&Use an app I registered') 0)
    }
    $secret = $null
    if ($ownApp) {
        if (-not $TenantId) {
            $TenantId = Read-WizardAnswer 'Microsoft 365' 'Tenant ID' 'TenantId' $(if ($current) { $current.tenant.tenantId })
        }
        if (-not $ClientId) {
            $ClientId = Read-WizardAnswer 'Microsoft 365' 'Application (client) ID' 'ClientId' $(if ($current) { $current.tenant.clientId })
        }
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

    $arguments = @{
        tenant_id = $TenantId; authority_host = $AuthorityHost; graph_endpoint = $GraphEndpoint; tenant_ca_file = $TenantCAFile
        domain_controller = $DomainController; port = $Port; transport = $Transport
        domain_controller_ca_file = $DomainControllerCAFile
        admin_user = $EnterpriseAdminCredential.UserName
        admin_password = $EnterpriseAdminCredential.GetNetworkCredential().Password
        exchange_hybrid = $ExchangeHybrid; sync_now = $SynchronizeNow
    }
    $directory = "domain controller $DomainController"
    if ($ownApp) {
        $arguments += @{ client_id = $ClientId; certificate_file = $CertificateFile; certificate_key_file = $CertificateKeyFile
                         client_secret = $secret }
        if (-not $PSCmdlet.ShouldProcess("tenant $TenantId and $directory", 'Configure directory synchronization')) { return }
    } else {
        $arguments.use_device_code = [bool]$UseDeviceCode
        if ($WhatIfPreference) {
            # The core signs the administrator in and only lists what it would change in the tenant.
            $preview = Invoke-DirSyncCore -Command 'configure' -Arguments ($arguments + @{ what_if = $true }) -Cmdlet $PSCmdlet
            foreach ($step in @($preview.whatIf)) { $null = $PSCmdlet.ShouldProcess($step.target, $step.action) }
            $null = $PSCmdlet.ShouldProcess("tenant $($preview.tenantId) and $directory", 'Configure directory synchronization')
            return
        }
        $tenant = if ($TenantId) { "tenant $TenantId" } else { 'the tenant of the administrator who signs in' }
        if (-not $PSCmdlet.ShouldProcess("$tenant and $directory",
                'Sign in, create or update DirSync''s app registration, and configure directory synchronization')) { return }
    }
    $result = Invoke-DirSyncCore -Command 'configure' -Arguments $arguments -Cmdlet $PSCmdlet
    $identity = if ($result.cloudIdentity) {  # null with an app you registered
        $cloud = ConvertTo-PascalCase $result.cloudIdentity
        $cloud.CertificateExpires = ConvertFrom-DirSyncTime $cloud.CertificateExpires
        Add-DirSyncTypeName $cloud 'DirSync.CloudIdentity'
    }
    $out = [pscustomobject]@{
        Configuration  = Add-DirSyncTypeName (ConvertTo-PascalCase $result.configuration) 'DirSync.CoexistenceConfiguration'
        CloudIdentity  = $identity
        ServiceAccount = ConvertTo-PascalCase $result.serviceAccount
        Schedule       = ConvertTo-DirSyncSchedule $result.schedule
        SyncResult     = if ($result.syncResult) { ConvertTo-DirSyncRunResult $result.syncResult }
    }
    Add-DirSyncTypeName $out 'DirSync.ConfigurationWizardResult'
}
