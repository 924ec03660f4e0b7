#Requires -Version 7.0
# Pester 5 tests of ps-modules/Switchyard.Service. Run: Invoke-Pester tests/ps/Switchyard.Service.Tests.ps1
# (from any directory). The cmdlets are checked three ways: with Invoke-SwitchyardCli mocked (the exact argument
# arrays each cmdlet passes, -WhatIf runs nothing), against a fake CLI process that echoes its argv (arguments
# arrive one by one, intact), and against the real CLI built in dist/ on the SCM emulator (skipped without it).

BeforeAll {
    $script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $script:RepoRoot 'ps-modules/Switchyard.Service/Switchyard.Service.psd1') -Force
    $script:Cmdlets = 'Install-SwitchyardService', 'Uninstall-SwitchyardService', 'Start-SwitchyardService', 'Stop-SwitchyardService', 'Get-SwitchyardService'
}

AfterAll {
    Remove-Module Switchyard.Service -ErrorAction SilentlyContinue
}

Describe 'Switchyard.Service module' {
    It 'exports exactly the five cmdlets' {
        (Get-Command -Module Switchyard.Service).Name | Sort-Object | Should -Be ($script:Cmdlets | Sort-Object)
    }

    It '<_> has a synopsis and an example' -ForEach @('Install-SwitchyardService', 'Uninstall-SwitchyardService', 'Start-SwitchyardService', 'Stop-SwitchyardService', 'Get-SwitchyardService') {
        $help = Get-Help $_ -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match '^\s*\r?\n?\s*Install-|^\s*Uninstall-|^\s*Start-|^\s*Stop-|^\s*Get-' -Because 'the synopsis is prose, not the generated syntax line'
        @($help.Examples.Example).Count | Should -BeGreaterThan 0
    }

    It '<_> supports -WhatIf and -Confirm' -ForEach @('Install-SwitchyardService', 'Uninstall-SwitchyardService', 'Start-SwitchyardService', 'Stop-SwitchyardService') {
        $cmd = Get-Command $_
        $cmd.Parameters.Keys | Should -Contain 'WhatIf'
        $cmd.Parameters.Keys | Should -Contain 'Confirm'
    }

    It 'Uninstall-SwitchyardService asks for confirmation by default (ConfirmImpact High)' {
        $meta = [System.Management.Automation.CommandMetadata]::new((Get-Command Uninstall-SwitchyardService))
        $meta.ConfirmImpact | Should -Be 'High'
    }
}

Describe 'Arguments passed to the CLI (Invoke-SwitchyardCli mocked)' {
    BeforeEach {
        Mock -ModuleName Switchyard.Service Invoke-SwitchyardCli { 'ok' }
    }

    It 'Install-SwitchyardService passes every value as its own argument, quotes and spaces included' {
        $config = 'C:\My Configs\agent "prod".yaml'
        Install-SwitchyardService -ConfigPath $config -ConfigInPlace -StopTimeoutSeconds 45 -NodePath 'C:\Program Files\nodejs\node.exe' -Confirm:$false | Should -Be 'ok'
        Should -Invoke -ModuleName Switchyard.Service Invoke-SwitchyardCli -Times 1 -Exactly -ParameterFilter {
            ($Arguments -join '|') -eq "service|install|--config|$config|--stop-timeout|45|--config-in-place|--node|C:\Program Files\nodejs\node.exe"
        }
    }

    It 'Install-SwitchyardService -WhatIf runs nothing' {
        Install-SwitchyardService -ConfigPath 'agent.yaml' -WhatIf
        Should -Invoke -ModuleName Switchyard.Service Invoke-SwitchyardCli -Times 0 -Exactly
    }

    It 'Uninstall-SwitchyardService -Purge -Root passes --purge and --root' {
        Uninstall-SwitchyardService -Purge -Root 'D:\image root' -Confirm:$false
        Should -Invoke -ModuleName Switchyard.Service Invoke-SwitchyardCli -Times 1 -Exactly -ParameterFilter {
            ($Arguments -join '|') -eq 'service|uninstall|--purge|--root|D:\image root'
        }
    }

    It 'Uninstall-SwitchyardService without -Purge keeps the network (no --purge)' {
        Uninstall-SwitchyardService -Confirm:$false
        Should -Invoke -ModuleName Switchyard.Service Invoke-SwitchyardCli -Times 1 -Exactly -ParameterFilter { ($Arguments -join '|') -eq 'service|uninstall' }
    }

    It 'Start- and Stop-SwitchyardService pass start and stop; -WhatIf runs nothing' {
        Start-SwitchyardService -Confirm:$false
        Stop-SwitchyardService -Confirm:$false
        Stop-SwitchyardService -WhatIf
        Should -Invoke -ModuleName Switchyard.Service Invoke-SwitchyardCli -Times 1 -Exactly -ParameterFilter { ($Arguments -join '|') -eq 'service|start' }
        Should -Invoke -ModuleName Switchyard.Service Invoke-SwitchyardCli -Times 1 -Exactly -ParameterFilter { ($Arguments -join '|') -eq 'service|stop' }
    }

    It 'Get-SwitchyardService turns the JSON status into an object' {
        Mock -ModuleName Switchyard.Service Invoke-SwitchyardCli { '{ "installed": true, "state": "running", "pid": 4242, "startType": "automatic", "details": { "ImagePath": "x" } }' }
        $s = Get-SwitchyardService
        Should -Invoke -ModuleName Switchyard.Service Invoke-SwitchyardCli -Times 1 -Exactly -ParameterFilter { ($Arguments -join '|') -eq 'service|status|-o|json' }
        $s.Installed | Should -BeTrue
        $s.State | Should -Be 'running'
        $s.Pid | Should -Be 4242
        $s.StartType | Should -Be 'automatic'
        $s.ExitCode | Should -BeNullOrEmpty
        $s.Details.ImagePath | Should -Be 'x'
    }
}

Describe 'A real CLI process' -Skip:$IsWindows {
    BeforeAll {
        $script:Dir = Join-Path ([System.IO.Path]::GetTempPath()) ("sy-pester-service-" + [guid]::NewGuid())
        New-Item -ItemType Directory -Path $script:Dir | Out-Null
        $script:Fake = Join-Path $script:Dir 'fake-switchyard'
        # Echoes each argument on its own line between brackets; exits with $FAKE_EXIT (a message on stderr when non-zero).
        Set-Content -Path $script:Fake -Value @(
            '#!/bin/sh',
            'for a in "$@"; do printf "[%s]\n" "$a"; done',
            'if [ -n "$FAKE_EXIT" ] && [ "$FAKE_EXIT" != 0 ]; then echo "--config: agent.yaml does not exist" >&2; exit "$FAKE_EXIT"; fi'
        )
        chmod +x $script:Fake
        $script:SavedCli = $env:SWITCHYARD_CLI
    }
    AfterAll {
        $env:SWITCHYARD_CLI = $script:SavedCli
        $env:FAKE_EXIT = $null
        Remove-Item -Recurse -Force $script:Dir -ErrorAction SilentlyContinue
    }

    It 'receives each argument intact: spaces, quotes, $ and ; are data' {
        $env:SWITCHYARD_CLI = $script:Fake
        $env:FAKE_EXIT = '0'
        $config = 'a b "c" $(whoami); rm -rf x'
        $out = Install-SwitchyardService -ConfigPath $config -Confirm:$false
        $out | Should -Be @('[service]', '[install]', '[--config]', "[$config]", '[--stop-timeout]', '[30]')
    }

    It 'a non-zero exit becomes a terminating error with the CLI message and exit code' {
        $env:SWITCHYARD_CLI = $script:Fake
        $env:FAKE_EXIT = '2'
        $err = $null
        try { Start-SwitchyardService -Confirm:$false } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.Exception.Message | Should -Match '--config: agent.yaml does not exist \(exit 2\)'
        $err.Exception.Data['ExitCode'] | Should -Be 2
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'drives the built CLI end to end on the SCM emulator (install, status, stop, uninstall)' {
        $main = Join-Path $script:RepoRoot 'dist/src/cli/main.js'
        if (-not (Test-Path $main) -or -not (Get-Command node -ErrorAction SilentlyContinue)) {
            Set-ItResult -Skipped -Because 'dist/src/cli/main.js is not built or node is not on PATH'
            return
        }
        $env:FAKE_EXIT = $null
        $env:SWITCHYARD_CLI = $main
        $root = Join-Path $script:Dir 'root'
        New-Item -ItemType Directory -Path (Join-Path $root 'C/Switchyard') -Force | Out-Null
        Set-Content -Path (Join-Path $root 'C/Switchyard/switchyard-service.exe') -Value 'MZ'
        $config = Join-Path $script:Dir 'agent.yaml'
        Set-Content -Path $config -Value 'nodeName: win-ps'
        $saved = @{ P = $env:SWITCHYARD_SERVICE_PLATFORM; S = $env:SWITCHYARD_SCM; H = $env:SWITCHYARD_SERVICE_HOST_EXE; D = $env:ProgramData }
        try {
            $env:SWITCHYARD_SERVICE_PLATFORM = 'windows'
            $env:SWITCHYARD_SCM = 'memory:' + (Join-Path $script:Dir 'scm.json')
            $env:SWITCHYARD_SERVICE_HOST_EXE = 'C:\Switchyard\switchyard-service.exe'
            $env:ProgramData = 'C:\ProgramData'
            $lines = Install-SwitchyardService -ConfigPath $config -Root $root -Confirm:$false
            $lines | Should -Contain 'start service switchyard-agent'
            (Get-SwitchyardService -Root $root).State | Should -Be 'running'
            Stop-SwitchyardService -Root $root -Confirm:$false | Should -Be 'stop service switchyard-agent'
            (Get-SwitchyardService -Root $root).State | Should -Be 'stopped'
            Uninstall-SwitchyardService -Root $root -Confirm:$false | Should -Contain 'delete service switchyard-agent'
            (Get-SwitchyardService -Root $root).Installed | Should -BeFalse
        } finally {
            $env:SWITCHYARD_SERVICE_PLATFORM = $saved.P; $env:SWITCHYARD_SCM = $saved.S; $env:SWITCHYARD_SERVICE_HOST_EXE = $saved.H; $env:ProgramData = $saved.D
        }
    }
}
