# Every exported cmdlet has full help: a synopsis, an example, and help for each of its parameters. It needs
# no core: the help is the module's own.
BeforeDiscovery {
    $script:Exported = (Import-PowerShellDataFile (Join-Path $PSScriptRoot '../../../powershell/DirSync.psd1')).FunctionsToExport |
        ForEach-Object { @{ Name = $_ } }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Contract.ps1')
}

Describe 'Help' {
    It '<Name> has a synopsis, parameter help and examples' -ForEach $Exported {
        $help = Get-Help $Name -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match "^\s*$Name\s"
        @($help.Examples.Example).Count | Should -BeGreaterThan 0
        $parameters = (Get-Command $Name).Parameters.Keys | Where-Object { $_ -notin [System.Management.Automation.PSCmdlet]::CommonParameters -and $_ -notin [System.Management.Automation.PSCmdlet]::OptionalCommonParameters }
        foreach ($parameter in $parameters) {
            ($help.parameters.parameter | Where-Object name -eq $parameter).description.Text | Should -Not -BeNullOrEmpty -Because "-$parameter of $Name needs help"
        }
    }

    It 'Start-CoexistenceConfigurationWizard shows both ways of page 1 in its examples, each usable from a script' {
        $examples = (Get-Help Start-CoexistenceConfigurationWizard -Full).Examples.Example.Code -join "`n"
        $examples | Should -Match 'Start-CoexistenceConfigurationWizard -UseDeviceCode '
        $examples | Should -Match '-ClientId \$appId -CertificateFile'
        $examples | Should -Match '-UseDeviceCode .*\s.*-WhatIf'
    }
}
