function Get-PreventAccidentalDeletes {
    <#
    .SYNOPSIS
    Shows whether DirSync refuses to delete more than a set number, or share, of objects in one run.

    .DESCRIPTION
    When protection is on (the default, at 500 objects or 10 % of the synchronized objects), a
    synchronization run that would delete more cloud objects than either threshold (ObjectDeletionThreshold,
    ObjectDeletionPercentage; the percentage counts from 3 deletes) deletes none of them and stops with the status
    stopped-deletion-threshold-exceeded, so that a mistake in Active Directory (a moved or deleted OU, a
    changed filter) does not empty the Microsoft 365 directory.

    .EXAMPLE
    Get-PreventAccidentalDeletes

    .OUTPUTS
    DirSync.PreventAccidentalDeletes
    #>
    [CmdletBinding()]
    [OutputType('DirSync.PreventAccidentalDeletes')]
    param()
    $result = Invoke-DirSyncCore -Command 'get-configuration' -Cmdlet $PSCmdlet
    Add-DirSyncTypeName (ConvertTo-PascalCase $result.preventAccidentalDeletes) 'DirSync.PreventAccidentalDeletes'
}
