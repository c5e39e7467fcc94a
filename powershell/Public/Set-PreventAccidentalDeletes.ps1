function Set-PreventAccidentalDeletes {
    <#
    .SYNOPSIS
    Turns on or off the protection against deleting many cloud objects in one synchronization run.

    .DESCRIPTION
    -Enable with -ObjectDeletionThreshold N: a run that would delete more than N objects deletes none and
    stops with the status stopped-deletion-threshold-exceeded. -Disable: runs delete whatever Active
    Directory no longer has in scope. To let one run past the threshold without turning the protection
    off, use Start-OnlineCoexistenceSync -AllowDeletes.

    .PARAMETER Enable
    Turns the protection on.

    .PARAMETER ObjectDeletionThreshold
    The most objects one run may delete (1 to 1,000,000). With -Enable; 500 when never set.

    .PARAMETER Disable
    Turns the protection off.

    .PARAMETER PassThru
    Returns the protection settings after the change.

    .EXAMPLE
    Set-PreventAccidentalDeletes -Enable -ObjectDeletionThreshold 1000

    .EXAMPLE
    Set-PreventAccidentalDeletes -Disable -Confirm:$false

    .OUTPUTS
    DirSync.PreventAccidentalDeletes, with -PassThru.
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium', DefaultParameterSetName = 'Enable')]
    [OutputType('DirSync.PreventAccidentalDeletes')]
    param(
        [Parameter(Mandatory, ParameterSetName = 'Enable')] [switch]$Enable,
        [Parameter(ParameterSetName = 'Enable')] [int]$ObjectDeletionThreshold,
        [Parameter(Mandatory, ParameterSetName = 'Disable')] [switch]$Disable,
        [switch]$PassThru
    )
    $settings = @{ prevent_accidental_deletes = [bool]$Enable }
    if ($PSBoundParameters.ContainsKey('ObjectDeletionThreshold')) { $settings.object_deletion_threshold = $ObjectDeletionThreshold }
    $action = if (-not $Enable) { 'Disable' }
              elseif ($settings.ContainsKey('object_deletion_threshold')) { "Enable, threshold $ObjectDeletionThreshold" }
              else { 'Enable, threshold unchanged' }
    if ($PSCmdlet.ShouldProcess('Prevent accidental deletes', $action)) {
        $result = Invoke-DirSyncCore -Command 'set-configuration' -Arguments $settings -Cmdlet $PSCmdlet
        if ($PassThru) { Add-DirSyncTypeName (ConvertTo-PascalCase $result.preventAccidentalDeletes) 'DirSync.PreventAccidentalDeletes' }
    }
}
