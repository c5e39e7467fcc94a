function Update-CoexistenceCredential {
    <#
    .SYNOPSIS
    Gives DirSync's app registration a new certificate and removes the old one (certificate rotation).

    .DESCRIPTION
    For the app registration the configuration wizard created ("Sign in as an administrator"): makes a new
    certificate on this machine (its private key goes into DirSync's secrets store and never leaves this
    machine), adds it to the app registration, waits until Microsoft 365 accepts it and DirSync signs in
    with it, and only then removes the old certificate from the app and from the secrets store. No
    administrator signs in: DirSync's app changes its own registration. If the new certificate does not
    sign in, the old one is kept and the error says why.

    Test-CoexistenceSync warns, in Reasons, when the certificate expires in fewer days than the setting
    credentialExpiryWarningDays (30 by default; Set-CoexistenceConfiguration -CredentialExpiryWarningDays).
    Re-running Start-CoexistenceConfigurationWizard with the administrator's sign-in rotates it too.

    With -WhatIf, DirSync signs in and lists each change it would make ("What if: Performing the operation
    "add" on target ..."), and changes nothing.

    .EXAMPLE
    Update-CoexistenceCredential

    Rotates the certificate now and returns the new thumbprint, its expiry and the removed thumbprints.

    .EXAMPLE
    Update-CoexistenceCredential -WhatIf

    Lists the certificate that would be added and the ones that would be removed.

    .EXAMPLE
    $rotate = 'Import-Module C:\DirSync\powershell\DirSync.psd1; Update-CoexistenceCredential -Confirm:$false'
    Register-ScheduledTask -TaskName 'DirSync certificate rotation' -User 'NT AUTHORITY\SYSTEM' `
        -Action (New-ScheduledTaskAction -Execute 'pwsh.exe' -Argument "-NoProfile -NonInteractive -Command `"$rotate`"") `
        -Trigger (New-ScheduledTaskTrigger -Weekly -WeeksInterval 13 -DaysOfWeek Sunday -At 3am)

    Rotates the certificate every quarter (13 weeks), as the account the scheduled synchronization runs
    as on Windows. The certificate is valid for one year and Test-CoexistenceSync warns 30 days before it
    expires: a task once a year would rotate it just before it expires, inside the warning. On Linux, a
    crontab line of the account that runs DirSync:
    0 3 1 */3 * pwsh -NoProfile -NonInteractive -Command 'Import-Module /opt/dirsync/powershell/DirSync.psd1; Update-CoexistenceCredential'
    A failed rotation keeps the old certificate and makes pwsh exit non-zero.

    .OUTPUTS
    DirSync.CredentialUpdateResult
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('DirSync.CredentialUpdateResult')]
    param()
    if ($WhatIfPreference) {
        $preview = Invoke-DirSyncCore -Command 'update-credential' -Arguments @{ what_if = $true } -Cmdlet $PSCmdlet
        foreach ($step in @($preview.whatIf)) { $null = $PSCmdlet.ShouldProcess($step.target, $step.action) }
        return
    }
    if (-not $PSCmdlet.ShouldProcess('the certificate of DirSync''s app registration', 'Replace with a new certificate made on this machine')) { return }
    $result = ConvertTo-PascalCase (Invoke-DirSyncCore -Command 'update-credential' -Arguments @{ what_if = $false } -Cmdlet $PSCmdlet)
    $result.CertificateExpires = ConvertFrom-DirSyncTime $result.CertificateExpires
    $result.RemovedThumbprints = @($result.RemovedThumbprints)
    Add-DirSyncTypeName $result 'DirSync.CredentialUpdateResult'
}
