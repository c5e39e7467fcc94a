function Set-CoexistenceConfiguration {
    <#
    .SYNOPSIS
    Changes DirSync's synchronization settings.

    .DESCRIPTION
    Changes the settings of the next synchronization runs: which organizational units are in scope, the
    attribute that excludes an object, staging mode, soft matching, the proxy to Microsoft 365, the
    Exchange hybrid flag, how early Test-CoexistenceSync warns that the app's certificate expires, the
    e-mail notifications to the technical contact and the system log.
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

    .PARAMETER SmtpServer
    The SMTP server that e-mails the technical contact, one message per incident: a run stopped (by an
    error or the deletion threshold), objects newly in export error, the credential about to expire, runs
    failing in a row; and one when it clears. An empty string: no e-mail. Needs -NotificationSender and
    -NotificationRecipients.

    .PARAMETER SmtpPort
    Its port: 587 by default (STARTTLS); 465 is the usual port of TLS from the start.

    .PARAMETER SmtpSecurity
    starttls (default) or tls (encrypted from the first byte). Mail always goes encrypted and the server's
    certificate is verified; a server without STARTTLS is refused, not used in clear.

    .PARAMETER SmtpCredential
    The account DirSync signs in to the SMTP server with. Its password goes to DirSync's secrets store, never
    to the configuration file. [pscredential]::Empty: no sign-in.

    .PARAMETER SmtpCaFile
    The file of the CA that issued the SMTP server's certificate, when it is a private CA. Empty: the
    system's trusted CAs.

    .PARAMETER NotificationSender
    The From address of DirSync's messages, such as dirsync@contoso.com.

    .PARAMETER NotificationRecipients
    Who receives them: the technical contact's addresses.

    .PARAMETER FailedRunsInARow
    How many runs failing one after another make an incident of their own (2 to 100, 3 by default).

    .PARAMETER SystemLog
    $true (default): each run writes a summary event to the system log (syslog or journald on Linux, the
    Application event log under the source DirSync on Windows), and a stopped run one more with its reason.

    .PARAMETER SystemLogAddress
    Where on Linux: empty for the system's own (/dev/log), another syslog socket's path, or
    udp://host:port for a remote syslog server.

    .PARAMETER SystemLogFacility
    The syslog facility of the events: daemon by default; user, auth or local0 to local7.

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

    .EXAMPLE
    Set-CoexistenceConfiguration -SmtpServer smtp.contoso.com -SmtpCredential (Get-Credential dirsync-mailer) -NotificationSender dirsync@contoso.com -NotificationRecipients 'it-oncall@contoso.com', 'ad-team@contoso.com'
    Send-CoexistenceTestNotification

    E-mails the technical contacts when a run stops, and checks at once that a message gets through.

    .EXAMPLE
    Set-CoexistenceConfiguration -SystemLogAddress udp://syslog.contoso.com:514 -SystemLogFacility local3

    Sends each run's events to the central syslog server instead of the local log.

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
        [AllowEmptyString()] [string]$SmtpServer,
        [ValidateRange(1, 65535)] [int]$SmtpPort,
        [ValidateSet('starttls', 'tls')] [string]$SmtpSecurity,
        [pscredential]$SmtpCredential,
        [AllowEmptyString()] [string]$SmtpCaFile,
        [AllowEmptyString()] [string]$NotificationSender,
        [AllowEmptyCollection()] [string[]]$NotificationRecipients,
        [ValidateRange(2, 100)] [int]$FailedRunsInARow,
        [bool]$SystemLog,
        [AllowEmptyString()] [string]$SystemLogAddress,
        [ValidateSet('user', 'daemon', 'auth', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7')]
        [string]$SystemLogFacility,
        [switch]$PassThru
    )
    # Flat settings, named as the parameters; the core shapes them into the configuration (config.py).
    $names = @{
        IncludeOUs = 'include_ous'; ExcludeOUs = 'exclude_ous'; ExclusionAttribute = 'exclusion_attribute'
        StagingMode = 'staging_mode'; SoftMatch = 'soft_match'; Proxy = 'proxy'; ExchangeHybrid = 'exchange_hybrid'
        CredentialExpiryWarningDays = 'credential_expiry_warning_days'; SmtpServer = 'smtp_server'; SmtpPort = 'smtp_port'
        SmtpSecurity = 'smtp_security'; SmtpCaFile = 'smtp_ca_file'; NotificationSender = 'notification_sender'
        NotificationRecipients = 'notification_recipients'; FailedRunsInARow = 'failed_runs_in_a_row'
        SystemLog = 'system_log'; SystemLogAddress = 'system_log_address'; SystemLogFacility = 'system_log_facility'
    }
    $settings = @{}
    foreach ($name in $PSBoundParameters.Keys) {
        if ($names.ContainsKey($name)) { $settings[$names[$name]] = $PSBoundParameters[$name] }
    }
    if ($PSBoundParameters.ContainsKey('SmtpCredential')) {
        # The password goes to the core's secrets store; [pscredential]::Empty turns sign-in off.
        $empty = $SmtpCredential -eq [pscredential]::Empty
        $settings.smtp_username = if ($empty) { '' } else { $SmtpCredential.UserName }
        $settings.smtp_password = if ($empty) { '' } else { $SmtpCredential.GetNetworkCredential().Password }
    }
    if (-not $settings.Count) {
        Write-Warning 'No setting was given, so nothing changed. See Get-Help Set-CoexistenceConfiguration -Parameter *.'
        return
    }
    # A proxy password is shown as *** (-WhatIf, -Confirm): the core moves it to the secrets store.
    $description = ($PSBoundParameters.Keys | Where-Object { $names.ContainsKey($_) } | Sort-Object |
        ForEach-Object { "$($_): $(ConvertTo-Json $(if ($_ -eq 'Proxy') { $Proxy -replace '(?<=://[^/@:]*):[^/@]*@', ':***@' } else { $PSBoundParameters[$_] }) -Compress)" }) -join '; '
    if ($settings.ContainsKey('smtp_username')) {
        $description = (@($description) + "SmtpCredential: $(if ($settings.smtp_username) { "$($settings.smtp_username) (password ***)" } else { 'none' })" |
            Where-Object { $_ }) -join '; '
    }
    if ($PSCmdlet.ShouldProcess('DirSync configuration', "Set $description")) {
        $result = Invoke-DirSyncCore -Command 'set-configuration' -Arguments $settings -Cmdlet $PSCmdlet
        if ($PassThru) { Add-DirSyncTypeName (ConvertTo-PascalCase $result) 'DirSync.CoexistenceConfiguration' }
    }
}
