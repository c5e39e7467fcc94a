function Send-CoexistenceTestNotification {
    <#
    .SYNOPSIS
    Sends a test e-mail to DirSync's technical contacts now.

    .DESCRIPTION
    Sends one message through the SMTP server set with Set-CoexistenceConfiguration (-SmtpServer,
    -SmtpCredential, -NotificationSender, -NotificationRecipients), as DirSync's notifications go: encrypted,
    the server's certificate verified. Returns where it went; a message that cannot be sent is an error
    that says what to change (the server unreachable, its certificate not trusted, the sign-in refused, a
    recipient refused). The SMTP password is never shown.

    DirSync itself e-mails one message per incident: a run stopped (by an error or the deletion threshold),
    objects newly in export error, its credential about to expire, runs failing one after another; and one
    when the incident clears. A notification that cannot be sent never fails a run: the run's history keeps
    it as a notice (Get-CoexistenceSyncHistory shows Notices).

    .EXAMPLE
    Send-CoexistenceTestNotification

    Sends the test message and shows the server and the recipients it went to.

    .EXAMPLE
    Send-CoexistenceTestNotification -WhatIf

    Says where the message would go, and sends nothing.

    .OUTPUTS
    DirSync.TestNotificationResult
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Low')]
    [OutputType('DirSync.TestNotificationResult')]
    param()
    if (-not $PSCmdlet.ShouldProcess('the technical contacts of DirSync''s notifications', 'Send a test e-mail')) { return }
    $result = ConvertTo-PascalCase (Invoke-DirSyncCore -Command 'send-test-notification' -Cmdlet $PSCmdlet)
    $result.Recipients = @($result.Recipients)
    Add-DirSyncTypeName $result 'DirSync.TestNotificationResult'
}
