# Switchyard.Service: the node agent service from PowerShell. Every cmdlet is a thin front for
# `switchyard service <verb>`; the CLI does the work (SCM calls, files, idempotency, dry runs), so PowerShell and
# the CLI cannot drift apart. Arguments go to the CLI as an array (& $exe @arguments): PowerShell passes each
# element as one argument, so no value is ever parsed as command text.

Set-StrictMode -Version 3.0

function Resolve-SwitchyardCli {
    <#
    .SYNOPSIS
    Finds the switchyard CLI: $env:SWITCHYARD_CLI (an executable, or a .js file run with node), else `switchyard` on PATH.
    .EXAMPLE
    Resolve-SwitchyardCli
    #>
    [CmdletBinding()]
    [OutputType([object[]])]
    param()
    $configured = $env:SWITCHYARD_CLI
    if ($configured) {
        if ($configured -like '*.js') {
            $node = Get-Command -Name 'node' -CommandType Application -ErrorAction Stop | Select-Object -First 1
            return , @($node.Source, $configured)
        }
        return , @($configured)
    }
    $cli = Get-Command -Name 'switchyard' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $cli) {
        throw 'switchyard CLI not found: put it on PATH or set $env:SWITCHYARD_CLI to its path'
    }
    return , @($cli.Source)
}

function Invoke-SwitchyardCli {
    <#
    .SYNOPSIS
    Runs `switchyard <Arguments>` with the arguments as an array and returns its output lines; a non-zero exit is a terminating error carrying the CLI's message and exit code.
    .EXAMPLE
    Invoke-SwitchyardCli -Arguments @('service', 'status', '-o', 'json') -Confirm:$false
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Low')]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)][string[]]$Arguments
    )
    $command = Resolve-SwitchyardCli
    $exe = $command[0]
    $allArgs = @($command | Select-Object -Skip 1) + $Arguments
    if (-not $PSCmdlet.ShouldProcess(($allArgs -join ' '), "Run $exe")) { return }
    $errors = [System.Collections.Generic.List[string]]::new()
    $lines = & $exe @allArgs 2>&1 | ForEach-Object {
        if ($_ -is [System.Management.Automation.ErrorRecord]) { $errors.Add($_.ToString()) } else { [string]$_ }
    }
    $code = $LASTEXITCODE
    if ($code -ne 0) {
        $message = ($errors -join "`n").Trim()
        if (-not $message) { $message = "switchyard $($Arguments -join ' ') exited $code" }
        $exception = [System.InvalidOperationException]::new("$message (exit $code)")
        $exception.Data['ExitCode'] = $code
        $category = if ($code -eq 2) { [System.Management.Automation.ErrorCategory]::InvalidArgument } else { [System.Management.Automation.ErrorCategory]::NotSpecified }
        $PSCmdlet.ThrowTerminatingError([System.Management.Automation.ErrorRecord]::new($exception, 'SwitchyardCliFailed', $category, $Arguments))
    }
    $lines
}

function Get-SwitchyardRootArgument {
    <#
    .SYNOPSIS
    The --root argument pair when a root was given, else nothing.
    .EXAMPLE
    Get-SwitchyardRootArgument -Root 'C:\image'
    #>
    [CmdletBinding()]
    [OutputType([string[]])]
    param([string]$Root)
    if ($Root) { return , @('--root', $Root) }
    return , @()
}

function Install-SwitchyardService {
    <#
    .SYNOPSIS
    Installs (or updates) the Switchyard node agent as a service and starts it; idempotent.
    .DESCRIPTION
    Runs `switchyard service install`. The configuration file is copied to C:\ProgramData\Switchyard\agent.yaml
    (or used where it is with -ConfigInPlace). A second install updates what changed and prints what that was.
    Returns the lines the CLI printed, one per change.
    .PARAMETER ConfigPath
    The agent's configuration file.
    .PARAMETER ConfigInPlace
    Use ConfigPath where it is instead of copying it.
    .PARAMETER NodePath
    The node executable that runs the agent (default: the one the CLI runs under).
    .PARAMETER StopTimeoutSeconds
    How long a graceful stop may take before the agent is killed.
    .PARAMETER HostExe
    The service host executable (default: the one shipped with the CLI).
    .PARAMETER Root
    Install under this directory (image building, tests).
    .EXAMPLE
    Install-SwitchyardService -ConfigPath C:\k\switchyard\agent.yaml
    .EXAMPLE
    Install-SwitchyardService -ConfigPath .\agent.yaml -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType([string])]
    param(
        [Parameter(Mandatory, Position = 0)][string]$ConfigPath,
        [switch]$ConfigInPlace,
        [string]$NodePath,
        [ValidateRange(1, 600)][int]$StopTimeoutSeconds = 30,
        [string]$HostExe,
        [string]$Root
    )
    $arguments = @('service', 'install', '--config', $ConfigPath, '--stop-timeout', [string]$StopTimeoutSeconds)
    if ($ConfigInPlace) { $arguments += '--config-in-place' }
    if ($NodePath) { $arguments += @('--node', $NodePath) }
    if ($HostExe) { $arguments += @('--host-exe', $HostExe) }
    $arguments += Get-SwitchyardRootArgument -Root $Root
    if ($PSCmdlet.ShouldProcess('switchyard-agent', "Install the Switchyard agent service with configuration $ConfigPath")) {
        Invoke-SwitchyardCli -Arguments $arguments -Confirm:$false -WhatIf:$false
    }
}

function Uninstall-SwitchyardService {
    <#
    .SYNOPSIS
    Stops and removes the Switchyard agent service; the pod network stays unless -Purge.
    .PARAMETER Purge
    Also run the agent's cleanup (removes the pod network) and remove the copied configuration.
    .PARAMETER Root
    The installation root given to Install-SwitchyardService.
    .EXAMPLE
    Uninstall-SwitchyardService
    .EXAMPLE
    Uninstall-SwitchyardService -Purge -Confirm:$false
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    [OutputType([string])]
    param(
        [switch]$Purge,
        [string]$Root
    )
    $arguments = @('service', 'uninstall')
    if ($Purge) { $arguments += '--purge' }
    $arguments += Get-SwitchyardRootArgument -Root $Root
    $action = if ($Purge) { 'Remove the Switchyard agent service and the pod network' } else { 'Remove the Switchyard agent service (the pod network stays)' }
    if ($PSCmdlet.ShouldProcess('switchyard-agent', $action)) {
        Invoke-SwitchyardCli -Arguments $arguments -Confirm:$false -WhatIf:$false
    }
}

function Start-SwitchyardService {
    <#
    .SYNOPSIS
    Starts the Switchyard agent service.
    .PARAMETER Root
    The installation root given to Install-SwitchyardService.
    .EXAMPLE
    Start-SwitchyardService
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Low')]
    [OutputType([string])]
    param([string]$Root)
    $arguments = @('service', 'start') + (Get-SwitchyardRootArgument -Root $Root)
    if ($PSCmdlet.ShouldProcess('switchyard-agent', 'Start')) {
        Invoke-SwitchyardCli -Arguments $arguments -Confirm:$false -WhatIf:$false
    }
}

function Stop-SwitchyardService {
    <#
    .SYNOPSIS
    Stops the Switchyard agent service gracefully; the pod network stays.
    .PARAMETER Root
    The installation root given to Install-SwitchyardService.
    .EXAMPLE
    Stop-SwitchyardService -Confirm:$false
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType([string])]
    param([string]$Root)
    $arguments = @('service', 'stop') + (Get-SwitchyardRootArgument -Root $Root)
    if ($PSCmdlet.ShouldProcess('switchyard-agent', 'Stop')) {
        Invoke-SwitchyardCli -Arguments $arguments -Confirm:$false -WhatIf:$false
    }
}

function Get-SwitchyardService {
    <#
    .SYNOPSIS
    Shows whether the Switchyard agent service is installed and running (Installed, State, Pid, StartType, ExitCode, Details).
    .PARAMETER Root
    The installation root given to Install-SwitchyardService.
    .EXAMPLE
    Get-SwitchyardService | Format-List
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param([string]$Root)
    $arguments = @('service', 'status', '-o', 'json') + (Get-SwitchyardRootArgument -Root $Root)
    $json = (Invoke-SwitchyardCli -Arguments $arguments -Confirm:$false -WhatIf:$false) -join [Environment]::NewLine
    $status = $json | ConvertFrom-Json
    $processId = $null
    $startType = $null
    $exitCode = $null
    if ($status.PSObject.Properties['pid']) { $processId = [int]$status.pid }
    if ($status.PSObject.Properties['startType']) { $startType = [string]$status.startType }
    if ($status.PSObject.Properties['exitCode']) { $exitCode = [int64]$status.exitCode }
    $result = [pscustomobject]@{
        PSTypeName = 'Switchyard.ServiceStatus'
        Installed  = [bool]$status.installed
        State      = [string]$status.state
        Pid        = $processId
        StartType  = $startType
        ExitCode   = $exitCode
        Details    = $status.details
    }
    $result
}

Export-ModuleMember -Function @(
    'Install-SwitchyardService', 'Uninstall-SwitchyardService', 'Start-SwitchyardService', 'Stop-SwitchyardService', 'Get-SwitchyardService'
)
