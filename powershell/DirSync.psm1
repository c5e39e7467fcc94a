# DirSync PowerShell module: thin cmdlets over the Python core, hosted in this very process by pythonnet.
# The logic lives in Python (python/dirsync); this file only starts CPython once per process and carries
# JSON across. See docs/architecture.md, "The PowerShell bridge".

Set-StrictMode -Version 3.0

$script:Bridge = $null

# Asked of each candidate interpreter: its libpython (or python3XY.dll), whether it has dirsync and its
# dependencies, and
# pythonnet's Python.Runtime.dll when the pythonnet package is installed there.
$script:PythonProbe = @'
import importlib.util, json, os, sys, sysconfig
if os.name == "nt":
    lib = os.path.join(sys.base_prefix, "python%d%d.dll" % sys.version_info[:2])
else:
    name = sysconfig.get_config_var("INSTSONAME") or sysconfig.get_config_var("LDLIBRARY") or ""
    lib = os.path.join(sysconfig.get_config_var("LIBDIR") or "", name)
net = importlib.util.find_spec("pythonnet")
runtime = os.path.join(os.path.dirname(net.origin), "runtime", "Python.Runtime.dll") if net else ""
print(json.dumps({"python": sys.executable, "library": lib if os.path.isfile(lib) else "",
                  "dirsync": importlib.util.find_spec("dirsync") is not None,
                  "dependencies": all(importlib.util.find_spec(m) for m in ("ldap3", "msal", "requests")),
                  "runtime": runtime if os.path.isfile(runtime) else "", "path": sys.path[1:]}))
'@

function Get-DirSyncPythonPaths([bool]$Checkout) {
    # Which interpreter, libpython and Python.Runtime.dll to use. DIRSYNC_PYTHON, PYTHONNET_PYDLL and
    # DIRSYNC_PYTHONNET_DLL win; else the first interpreter (py launcher, python3, python on PATH, then
    # /usr/bin/python3) that has a shared libpython, dirsync's dependencies and, unless this is a checkout,
    # the dirsync package itself.
    $candidates = if ($env:DIRSYNC_PYTHON) { , @($env:DIRSYNC_PYTHON) } else {
        @(if ($IsWindows) { $py = Get-Command py.exe -ErrorAction SilentlyContinue; if ($py) { , @($py.Source, '-3') } })
        foreach ($name in 'python3', 'python') {
            Get-Command $name -CommandType Application -ErrorAction SilentlyContinue | ForEach-Object { , @($_.Source) }
        }
        if (-not $IsWindows) { , @('/usr/bin/python3') }
    }
    $found = $null
    foreach ($candidate in $candidates) {
        $arguments = @($candidate | Select-Object -Skip 1) + @('-c', $script:PythonProbe)
        $answer = try { & $candidate[0] @arguments 2>$null | ConvertFrom-Json } catch { $null }
        if (-not $answer) { continue }
        if (-not $found) { $found = $answer }
        if ($answer.library -and $answer.dependencies -and ($Checkout -or $answer.dirsync)) { $found = $answer; break }
    }
    $runtime = Join-Path $PSScriptRoot 'lib/Python.Runtime.dll'
    if (-not (Test-Path $runtime) -and $found -and $found.runtime) { $runtime = $found.runtime }
    [pscustomobject]@{
        Python = if ($found) { $found.python } else { $env:DIRSYNC_PYTHON }
        Library = if ($env:PYTHONNET_PYDLL) { $env:PYTHONNET_PYDLL } elseif ($found) { $found.library } else { $null }
        # The interpreter's own sys.path: embedded, CPython does not see a venv's site-packages by itself.
        SearchPath = if ($found) { @($found.path) } else { @() }
        Runtime = if ($env:DIRSYNC_PYTHONNET_DLL) { $env:DIRSYNC_PYTHONNET_DLL } else { $runtime }
    }
}

function Initialize-DirSyncPython {
    if ($script:Bridge) { return }
    # A checkout runs its own python/ folder, ahead of any installed copy.
    $source = Join-Path (Split-Path $PSScriptRoot) 'python'
    $checkout = Test-Path (Join-Path $source 'dirsync')
    $paths = Get-DirSyncPythonPaths $checkout
    $runtime = $paths.Runtime
    if (-not (Test-Path $runtime)) {
        throw [System.IO.FileNotFoundException]::new(
            "pythonnet's Python.Runtime.dll was not found at $runtime. Install the pythonnet package (pip install " +
            "'dirsync[powershell]') or see docs/install.md, or set DIRSYNC_PYTHONNET_DLL to the file's path.")
    }
    Add-Type -Path $runtime
    if (-not [Python.Runtime.PythonEngine]::IsInitialized) {
        if (-not $paths.Library -or -not (Test-Path $paths.Library)) {
            throw [System.IO.FileNotFoundException]::new(
                "No Python 3 with a shared library (libpython3.x) was found. Install it (Debian: apt-get install libpython3.11) " +
                "or set DIRSYNC_PYTHON to the interpreter and PYTHONNET_PYDLL to its library's path.")
        }
        [Python.Runtime.Runtime]::PythonDLL = $paths.Library
        # sys.prefix comes from the program name; inside pwsh it would be pwsh's own path.
        [Python.Runtime.PythonEngine]::ProgramName = $paths.Python
        [Python.Runtime.PythonEngine]::Initialize()
        # Release the GIL at once: each call takes it with Py.GIL() and gives it back on this thread.
        $null = [Python.Runtime.PythonEngine]::BeginAllowThreads()
    }
    $gil = [Python.Runtime.Py]::GIL()
    try {
        $searchPath = ConvertTo-Json -Compress -InputObject @($paths.SearchPath)
        [Python.Runtime.PythonEngine]::Exec("import sys; sys.path[:0] = [p for p in $searchPath if p not in sys.path]")
        if ($checkout) {
            [Python.Runtime.PythonEngine]::Exec("import sys; sys.path.insert(0, $(ConvertTo-Json $source))")
        }
        $script:Bridge = [Python.Runtime.Py]::Import('dirsync.bridge')
    } finally {
        $gil.Dispose()
    }
}

function Invoke-DirSyncBridge([string]$Method, [object[]]$Arguments) {
    $gil = [Python.Runtime.Py]::GIL()
    try {
        # Built through a typed list: a PyObject is enumerable, and PowerShell unrolls it in any pipeline
        # output (an array literal, an if-expression) into its characters.
        $pyArgs = [System.Collections.Generic.List[Python.Runtime.PyObject]]::new()
        foreach ($argument in $Arguments) {
            if ($argument -is [double]) { $pyArgs.Add([Python.Runtime.PyFloat]::new($argument)) }
            else { $pyArgs.Add([Python.Runtime.PyString]::new([string]$argument)) }
        }
        $script:Bridge.InvokeMethod($Method, $pyArgs.ToArray()).ToString()
    } finally {
        $gil.Dispose()
    }
}

function ConvertTo-PascalCase($Value) {
    # JSON from the core uses camelCase; PowerShell objects show the same words in PascalCase.
    if ($Value -is [System.Management.Automation.PSCustomObject]) {
        $out = [ordered]@{}
        foreach ($p in $Value.PSObject.Properties) {
            $out[$p.Name.Substring(0, 1).ToUpperInvariant() + $p.Name.Substring(1)] = ConvertTo-PascalCase $p.Value
        }
        return [pscustomobject]$out
    }
    if ($Value -is [array]) { return , @($Value | ForEach-Object { ConvertTo-PascalCase $_ }) }
    $Value
}

function New-DirSyncErrorRecord($Failure) {
    $exception = [System.Exception]::new($Failure.message)
    $category = [System.Management.Automation.ErrorCategory]::NotSpecified
    $null = [Enum]::TryParse($Failure.category, [ref]$category)
    $record = [System.Management.Automation.ErrorRecord]::new($exception, $Failure.errorId, $category, $Failure.target)
    if ($Failure.fix) {
        # Shown in the console and in "$_": what was wrong, then what to do. (RecommendedAction would print it twice.)
        $record.ErrorDetails = [System.Management.Automation.ErrorDetails]::new("$($Failure.message) $($Failure.fix)")
    }
    $record
}

function Invoke-DirSyncCore {
    <#
    Runs one command of the Python core (see dirsync/bridge.py) and returns its result as objects.
    Events it emits while running become Write-Progress / Write-Verbose / Write-Warning / Write-Host here,
    on the pipeline thread. A failure is thrown as a terminating error of the calling cmdlet ($Cmdlet).
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [string]$Command,
        [hashtable]$Arguments = @{},
        [Parameter(Mandatory)] [System.Management.Automation.PSCmdlet]$Cmdlet
    )
    Initialize-DirSyncPython
    $callArguments = @{} + $Arguments
    # pwsh does not pass $env: changes to the C runtime, so the embedded Python would not see them.
    if ($env:DIRSYNC_HOME -and -not $callArguments.ContainsKey('home')) { $callArguments.home = $env:DIRSYNC_HOME }
    $callId = Invoke-DirSyncBridge start @($Command, (ConvertTo-Json $callArguments -Depth 20 -Compress))
    $finished = $false
    try {
        while (-not $finished) {
            $reply = Invoke-DirSyncBridge poll @($callId, [double]0.1) | ConvertFrom-Json
            foreach ($event in $reply.events) {
                switch ($event.kind) {
                    'progress' {
                        $progress = @{ Id = $event.id; Activity = $event.activity; Status = $event.status }
                        if ($event.percent -ge 0) { $progress.PercentComplete = $event.percent }
                        if ($event.operation) { $progress.CurrentOperation = $event.operation }
                        if ($event.PSObject.Properties['completed']) { $progress.Completed = $true }
                        Write-Progress @progress
                    }
                    'verbose' { $Cmdlet.WriteVerbose($event.message) }
                    'warning' { $Cmdlet.WriteWarning($event.message) }
                    # What the person must do now (the device code to type): shown without -Verbose, in -NonInteractive too.
                    'notice' { Write-Host $event.message }
                }
            }
            $finished = $reply.done
        }
    } finally {
        # Ctrl+C (or a stopped pipeline) ends the loop early: ask the core to stop too. The bridge waits
        # (bounded) for it to end, so the run has committed what was written and released its lock.
        if (-not $finished) { $null = Invoke-DirSyncBridge cancel @($callId) }
    }
    if ($reply.PSObject.Properties['error']) {
        if ($reply.error.PSObject.Properties['detail']) { $Cmdlet.WriteVerbose($reply.error.detail) }
        $Cmdlet.ThrowTerminatingError((New-DirSyncErrorRecord $reply.error))
    }
    $reply.result
}

function ConvertFrom-DirSyncTime($Value) {
    # The core's times are ISO 8601 in UTC; they become [datetime] of kind Utc, whatever the culture.
    # ConvertFrom-Json has most often made the [datetime] already: a string conversion would lose its
    # kind and its milliseconds.
    if ($Value -is [datetime]) { return $Value.ToUniversalTime() }
    if ($Value) { [datetime]::Parse($Value, [cultureinfo]::InvariantCulture, 'AdjustToUniversal') }
}

function Add-DirSyncTypeName($Object, [string]$TypeName) {
    $Object.PSObject.TypeNames.Insert(0, $TypeName)
    $Object
}

foreach ($file in Get-ChildItem (Join-Path $PSScriptRoot 'Private'), (Join-Path $PSScriptRoot 'Public') -Filter '*.ps1') {
    . $file.FullName
}
