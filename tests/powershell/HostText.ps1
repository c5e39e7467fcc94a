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

# What the console shows for $Object in the right-aligned column $Column of its default table view (the
# format file's), as text: the value that ends where the column's label ends.
function Get-TableCell($Object, [string]$Column) {
    $lines = @(($Object | Out-String -Width 400) -replace "\e\[[0-9;]*m" -split "`r?`n" | Where-Object { $_.Trim() })
    $end = $lines[0].IndexOf(" $Column") + 1 + $Column.Length
    if ($end -le $Column.Length) { throw "No column $Column in: $($lines[0])" }
    ($lines[2].Substring(0, [Math]::Min($end, $lines[2].Length)) -split '\s+')[-1]
}
