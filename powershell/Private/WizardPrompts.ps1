# Prompts of the configuration wizard. In pwsh -NonInteractive a prompt cannot be shown: the error then
# names the parameter that gives the answer.

function Invoke-WizardPrompt([string]$Parameter, [scriptblock]$Prompt) {
    try {
        & $Prompt
    } catch [System.Management.Automation.PSInvalidOperationException] {
        throw [System.Management.Automation.PSArgumentException]::new(
            "The configuration wizard needs an answer it cannot ask for here (the session is not interactive). Give -$Parameter.")
    }
}

function Read-WizardAnswer([string]$Page, [string]$Question, [string]$Parameter, [string]$Default, [switch]$Secure) {
    Invoke-WizardPrompt $Parameter {
        while ($true) {
            if ($Secure) { return Read-Host -Prompt "[$Page] $Question" -AsSecureString }
            $answer = Read-Host -Prompt ("[$Page] $Question" + $(if ($Default) { " [$Default]" }))
            if ($answer) { return $answer }
            if ($Default) { return $Default }
        }
    }
}

function Read-WizardChoice([string]$Page, [string]$Question, [string]$Parameter, [string[]]$Choices, [int]$Default) {
    Invoke-WizardPrompt $Parameter {
        $options = [System.Management.Automation.Host.ChoiceDescription[]]@($Choices | ForEach-Object { [System.Management.Automation.Host.ChoiceDescription]::new($_) })
        $Host.UI.PromptForChoice($Page, $Question, $options, $Default)
    }
}
