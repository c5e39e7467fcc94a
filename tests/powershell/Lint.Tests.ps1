# Lint of the PowerShell code: every script of the repository parses, and every command the DirSync
# module exports has an approved verb (Get-Verb), so Import-Module warns about none.
BeforeDiscovery {
    $root = Resolve-Path (Join-Path $PSScriptRoot '../..')
    $script:Scripts = Get-ChildItem $root -Recurse -File -Include '*.ps1', '*.psm1', '*.psd1' |
        Where-Object { $_.FullName -notmatch '[\\/](node_modules|\.git)[\\/]' } |
        ForEach-Object { @{ Path = $_.FullName; Name = [IO.Path]::GetRelativePath($root, $_.FullName) } }
    $manifest = Import-PowerShellDataFile (Join-Path $root 'powershell/DirSync.psd1')
    $script:Exported = $manifest.FunctionsToExport | ForEach-Object { @{ Name = $_ } }
}

BeforeAll {
    $script:Root = Resolve-Path (Join-Path $PSScriptRoot '../..')
    $script:Approved = (Get-Verb).Verb
}

Describe 'PowerShell scripts' {
    It 'finds the scripts it checks' {
        $Scripts.Count | Should -BeGreaterThan 20
    }

    It '<Name> parses without errors' -ForEach $Scripts {
        $tokens = $errors = $null
        $null = [System.Management.Automation.Language.Parser]::ParseFile($Path, [ref]$tokens, [ref]$errors)
        $errors | ForEach-Object { "$($_.Extent.StartLineNumber): $($_.Message)" } | Should -BeNullOrEmpty
    }
}

Describe 'Exported commands of DirSync' {
    BeforeAll {
        Import-Module (Join-Path $Root 'powershell/DirSync.psd1') -Force
    }

    It 'exports exactly the commands of the manifest' {
        $commands = (Get-Command -Module DirSync).Name | Sort-Object
        $commands | Should -Be ($Exported.Name | Sort-Object)
    }

    It '<Name> uses an approved verb' -ForEach $Exported {
        $verb = (Get-Command $Name -Module DirSync).Verb
        $verb | Should -BeIn $Approved
    }
}
