# Dot-sourced by the Pester tests: lets a test call Python functions of tests/powershell/probe through the
# module's own bridge (Invoke-DirSyncCore), in this pwsh process, to observe or drive what the cmdlets do.

function Register-DirSyncProbe {
    # The probe and this checkout's lab (dirsync_lab), which the probe uses to look into AD and the tenant.
    $paths = @((Join-Path $PSScriptRoot 'probe'), [IO.Path]::GetFullPath((Join-Path $PSScriptRoot '../../lab')))
    InModuleScope DirSync -Parameters @{ Paths = $paths } {
        param($Paths)
        Initialize-DirSyncPython
        $gil = [Python.Runtime.Py]::GIL()
        try { [Python.Runtime.PythonEngine]::Exec("import sys; sys.path[0:0] = $(ConvertTo-Json -Compress $Paths)") }
        finally { $gil.Dispose() }
    }
}

function Invoke-DirSyncProbe([string]$Command, [hashtable]$Arguments = @{}) {
    InModuleScope DirSync -Parameters @{ C = $Command; A = $Arguments } {
        param($C, $A)
        # An inner advanced scope of its own, so that its terminating errors reach the test.
        & { [CmdletBinding()] param() Invoke-DirSyncCore -Command $C -Arguments $A -Cmdlet $PSCmdlet }
    }
}
