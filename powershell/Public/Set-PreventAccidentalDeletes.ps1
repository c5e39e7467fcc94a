function Set-PreventAccidentalDeletes {
    <#
    .SYNOPSIS
    Turns on or off the protection against deleting many cloud objects in one synchronization run.

    .DESCRIPTION
    -Enable with -ObjectDeletionThreshold N and -ObjectDeletionPercentage P: a run that would delete more
    than N objects, or more than P % of the synchronized objects (when it deletes 3 or more), deletes none
    and stops with the status stopped-deletion-threshold-exceeded. -Disable: runs delete whatever Active
    Directory no longer has in scope. To let one run past the threshold without turning the protection
    off, use Start-OnlineCoexistenceSync -AllowDeletes.

    .PARAMETER Enable
    Turns the protection on.

    .PARAMETER ObjectDeletionThreshold
    The most objects one run may delete (a whole number, 1 to 1,000,000). With -Enable; 500 when never set.

    .PARAMETER ObjectDeletionPercentage
    The largest share of the synchronized objects, in percent, one run may delete (a whole number, 1 to
    100). With -Enable; 10 when never set. It protects a small directory, where an OU filter typo deletes
    everything long before the absolute threshold.

    .PARAMETER Disable
    Turns the protection off.

    .PARAMETER PassThru
    Returns the protection settings after the change.

    .EXAMPLE
    Set-PreventAccidentalDeletes -Enable -ObjectDeletionThreshold 1000

    .EXAMPLE
    Set-PreventAccidentalDeletes -Enable -ObjectDeletionPercentage 25

    .EXAMPLE
    Set-PreventAccidentalDeletes -Disable -Confirm:$false

    .OUTPUTS
    DirSync.PreventAccidentalDeletes, with -PassThru.
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium', DefaultParameterSetName = 'Enable')]
    [OutputType('DirSync.PreventAccidentalDeletes')]
    param(
        [Parameter(Mandatory, ParameterSetName = 'Enable')] [switch]$Enable,
        # Doubles, not ints: PowerShell would round 1.5 to 2 silently; the core refuses a fraction.
        [Parameter(ParameterSetName = 'Enable')] [double]$ObjectDeletionThreshold,
        [Parameter(ParameterSetName = 'Enable')] [double]$ObjectDeletionPercentage,
        [Parameter(Mandatory, ParameterSetName = 'Disable')] [switch]$Disable,
        [switch]$PassThru
    )
    $settings = @{ prevent_accidental_deletes = [bool]$Enable }
    $limits = @()
    if ($PSBoundParameters.ContainsKey('ObjectDeletionThreshold')) {
        $settings.object_deletion_threshold = $ObjectDeletionThreshold
        $limits += "threshold $ObjectDeletionThreshold objects"
    }
    if ($PSBoundParameters.ContainsKey('ObjectDeletionPercentage')) {
        $settings.object_deletion_percentage = $ObjectDeletionPercentage
        $limits += "threshold $ObjectDeletionPercentage %"
    }
    $action = if (-not $Enable) { 'Disable' }
              elseif ($limits) { "Enable, $($limits -join ', ')" }
              else { 'Enable, thresholds unchanged' }
    if ($PSCmdlet.ShouldProcess('Prevent accidental deletes', $action)) {
        $result = Invoke-DirSyncCore -Command 'set-configuration' -Arguments $settings -Cmdlet $PSCmdlet
        if ($PassThru) { Add-DirSyncTypeName (ConvertTo-PascalCase $result.preventAccidentalDeletes) 'DirSync.PreventAccidentalDeletes' }
    }
}
