function Get-CoexistenceObject {
    <#
    .SYNOPSIS
    Explains an object: whether and why it is synchronized, what Microsoft 365 has, and what would change.

    .DESCRIPTION
    Reads the object from Active Directory and from Microsoft 365, and what DirSync remembers of it, and
    changes nothing (no run lock is needed). For each object it gives:
      the AD object (DistinguishedName, Anchor: the objectGUID as the cloud's immutable id), whether it is
      still in Active Directory;
      InScope and ScopeRule: the rule that decided (an included or excluded OU, the exclusion attribute,
      a system object); SkipReason for an object in scope that DirSync never writes (a contact, a
      distribution group), with why;
      Values: what DirSync maps to Microsoft 365; MappingError and MappingFix when it cannot be written;
      CloudId and CloudState (active, deleted: in deleted items, absent); WouldChange: the properties the
      next write would set, with their values; WouldDelete;
      LastWritten and LastRun: when DirSync last wrote the cloud object, and in which run
      (Get-CoexistenceSyncHistory); LastResult, LastError and LastFix;
      Memberships: for a user its groups, for a group its members, each InActiveDirectory and InCloud;
      and the Manager, as AD has it.
    A user's groups in the cloud are checked among the groups DirSync knows: listing all of a user's
    groups needs the Graph permission Directory.Read.All, which DirSync's app does not hold.

    .PARAMETER Identity
    sAMAccountName, userPrincipalName, distinguishedName or objectGUID. Takes pipeline input, also by
    property name (DistinguishedName, ObjectGUID, UserPrincipalName, SamAccountName). An identity that
    names no object, or several, is an error (DirSync.IdentityNotFound, DirSync.IdentityAmbiguous).

    .EXAMPLE
    Get-CoexistenceObject jdoe

    Why jdoe is, or is not, in Microsoft 365, and what the next run would change.

    .EXAMPLE
    Get-CoexistenceObject jdoe | Select-Object -ExpandProperty Memberships

    jdoe's groups, in Active Directory and in the cloud.

    .EXAMPLE
    Get-ADUser -SearchBase 'OU=Sales,DC=contoso,DC=com' -Filter * | Get-CoexistenceObject | Where-Object LastError

    The Sales users in export error, each with the fix.

    .OUTPUTS
    DirSync.ObjectReport
    #>
    [CmdletBinding()]
    [OutputType('DirSync.ObjectReport')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [Alias('DistinguishedName', 'ObjectGUID', 'UserPrincipalName', 'SamAccountName')]
        [string[]]$Identity
    )
    begin { $chosen = [System.Collections.Generic.List[string]]::new() }
    process { foreach ($name in $Identity) { if ($name) { $chosen.Add($name) } } }
    end {
        if (-not $chosen.Count) { return }
        foreach ($report in Invoke-DirSyncCore -Command 'get-object' -Arguments @{ identities = @($chosen) } -Cmdlet $PSCmdlet) {
            $object = [pscustomobject][ordered]@{
                PSTypeName        = 'DirSync.ObjectReport'
                Identity          = $report.identity
                DistinguishedName = $report.dn
                Kind              = $report.kind
                Anchor            = $report.anchor
                InActiveDirectory = $report.inActiveDirectory
                InScope           = $report.inScope
                ScopeRule         = $report.scopeRule
                SkipReason        = $report.skipReason
                Values            = $report.values
                MappingError      = $report.mappingError
                MappingFix        = $report.mappingFix
                AccountExpires    = ConvertFrom-DirSyncTime $report.expires
                CloudId           = $report.cloudId
                CloudState        = $report.cloudState
                WouldChange       = $report.wouldChange
                WouldDelete       = $report.wouldDelete
                LastWritten       = ConvertFrom-DirSyncTime $report.lastWritten
                LastRun           = $report.lastRun
                LastResult        = $report.lastResult
                LastError         = $report.lastError
                LastFix           = $report.lastFix
                Manager           = $report.manager
                Memberships       = @($report.memberships | Where-Object { $_ } | ForEach-Object {
                        [pscustomobject]@{ PSTypeName = 'DirSync.Membership'; DistinguishedName = $_.dn; Anchor = $_.anchor
                            InActiveDirectory = $_.inActiveDirectory; InCloud = $_.inCloud }
                    })
            }
            $object
        }
    }
}
