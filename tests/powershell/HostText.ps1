# Dot-sourced by the Pester tests: what a command showed on the host (Write-Host, the "What if:" lines of
# ShouldProcess), line by line. These reach no output stream; a transcript sees them.
function Get-HostText([scriptblock]$Script) {
    $file = Join-Path ([IO.Path]::GetTempPath()) "dirsync-host-$(New-Guid).txt"
    $null = Start-Transcript -Path $file
    try {
        try { $null = & $Script } finally { $null = Stop-Transcript }
        Get-Content $file
    } finally {
        Remove-Item $file -ErrorAction Ignore  # also when the command failed: it may show a device code
    }
}
