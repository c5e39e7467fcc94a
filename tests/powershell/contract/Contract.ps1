# Shared by the contract tests, one file per cmdlet: the module loaded with no Python behind it (each test
# mocks Invoke-DirSyncCore, the one call into the core), the core's replies in their JSON form, and a
# cmdlet's parameters as one line each.
$script:Root = Resolve-Path (Join-Path $PSScriptRoot '../../..')
Import-Module (Join-Path $Root 'powershell/DirSync.psd1') -Force
. (Join-Path $PSScriptRoot '../HostText.ps1')

# A reply as Invoke-DirSyncCore hands it on: the core's JSON, parsed.
function New-CoreReply([string]$Json) { $Json | ConvertFrom-Json }

# A run result of the core (engine/run.py): times in ISO 8601 UTC, camelCase keys.
function New-CoreRunJson([string]$Status = 'success', [bool]$Failed = $false, [string]$ErrorId = $null,
                         [string]$Extra = '"changes": []') {
    $id = if ($ErrorId) { "`"$ErrorId`"" } else { 'null' }
    @"
{"runId": 7, "status": "$Status", "failed": $(if ($Failed) { 'true' } else { 'false' }), "errorId": $id,
 "mode": "delta", "preview": false, "staging": false, "trigger": "manual",
 "startTime": "2026-01-02T03:04:05.250Z", "endTime": "2026-01-02T03:05:35.250Z",
 "counts": {"added": 2, "updated": 1, "deleted": 0, "errors": 0, "skipped": 0},
 "errors": [], "skipped": [], "message": "", $Extra}
"@
}

# The configuration as the core describes it (config.describe): made by the core itself, so that the
# canned reply cannot drift from the real one.
function New-CoreConfigurationJson {
    $code = 'import json, sys; sys.path.insert(0, sys.argv[1]); from dirsync import config; ' +
            'print(json.dumps({"path": "/srv/dirsync/dirsync.json", **config.Configuration().to_dict()}))'
    /usr/bin/python3 -c $code (Join-Path $Root 'python')
}

function New-CoreScheduleJson {
    '{"enabled": true, "intervalMinutes": 180, "scheduler": "cron", "command": "dirsync sync --scheduled --if-due",
      "lastRunTime": "2026-01-02T03:00:00Z", "nextRunTime": "2026-01-02T06:00:00Z"}'
}

# One line per parameter, common parameters left out: its name, its type, the parameter sets where it is
# mandatory, and whether it takes pipeline input.
function Get-ParameterContract([string]$Name) {
    $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
    foreach ($parameter in (Get-Command $Name).Parameters.Values | Where-Object Name -notin $common | Sort-Object Name) {
        $sets = $parameter.ParameterSets.GetEnumerator()
        $mandatory = @($sets | Where-Object { $_.Value.IsMandatory } | ForEach-Object Key | Sort-Object)
        $pipeline = @($parameter.ParameterSets.Values | Where-Object { $_.ValueFromPipeline -or $_.ValueFromPipelineByPropertyName })
        "$($parameter.Name) [$($parameter.ParameterType.Name)]" +
            $(if ($mandatory) { " mandatory in $($mandatory -join ',')" }) + $(if ($pipeline) { ' from the pipeline' })
    }
}
