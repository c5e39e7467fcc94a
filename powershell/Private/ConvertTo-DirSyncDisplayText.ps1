# Text a cmdlet builds from returned data (a DN, a reason) is made safe to show by the core's one rule
# (dirsync/text.py): control characters and bidi overrides from Active Directory become visible escapes.
function ConvertTo-DirSyncDisplayText([string[]]$Text) {
    if (-not $Text) { return }
    Initialize-DirSyncPython
    (Invoke-DirSyncBridge display @(ConvertTo-Json @($Text) -Compress)) | ConvertFrom-Json
}
