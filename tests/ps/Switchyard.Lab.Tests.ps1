#Requires -Version 7.0
# Pester 5 tests of ps-modules/Switchyard.Lab under real PowerShell. The Hyper-V and NetTCPIP cmdlets do not
# exist here, so the test defines stand-ins with their parameters and mocks them with a small in-memory Hyper-V
# host; the plans are the ones src/lab/hyperv-plan.ts makes from tests/ps/fixtures/lab-hyperv*.yaml (written by
# tests/ps/pester.test.ts to $env:SY_LAB_PLAN and $env:SY_LAB_PLAN_CHANGED).

BeforeDiscovery {
    $script:Exported = @(
        'Get-SwitchyardLab', 'Invoke-SwitchyardLabPlan', 'Remove-SwitchyardLab', 'New-SwitchyardLabSwitch', 'Remove-SwitchyardLabSwitch',
        'New-SwitchyardLabVm', 'Remove-SwitchyardLabVm', 'Set-SwitchyardLabNodeAddress'
    )
    $script:Contract = [ordered]@{
        'Get-SwitchyardLab'            = @{ Params = 'Prefix:String!'; ShouldProcess = $false }
        'Invoke-SwitchyardLabPlan'     = @{ Params = 'Json:String! EncodedJson:String!'; ShouldProcess = $true }
        'New-SwitchyardLabSwitch'      = @{ Params = 'Name:String! HostAddress:IPAddress! PrefixLength:Int32'; ShouldProcess = $true }
        'New-SwitchyardLabVm'          = @{ Params = 'Name:String! SwitchName:String! ParentVhdPath:String! VmPath:String! MemoryStartupBytes:Int64 ProcessorCount:Int32 NestedVirtualization:SwitchParameter'; ShouldProcess = $true }
        'Remove-SwitchyardLab'         = @{ Params = 'Prefix:String!'; ShouldProcess = $true }
        'Remove-SwitchyardLabSwitch'   = @{ Params = 'Name:String!'; ShouldProcess = $true }
        'Remove-SwitchyardLabVm'       = @{ Params = 'Name:String!'; ShouldProcess = $true }
        'Set-SwitchyardLabNodeAddress' = @{ Params = 'VMName:String! Credential:PSCredential! IPAddress:IPAddress! PrefixLength:Int32 Gateway:IPAddress! DnsServer:IPAddress[]'; ShouldProcess = $true }
    }
    $script:Cases = foreach ($name in $script:Contract.Keys) { @{ Name = $name; Expected = $script:Contract[$name] } }
}

BeforeAll {
    # Stand-ins for the Hyper-V and NetTCPIP cmdlets (Pester can only mock commands that exist).
    function global:Get-VMSwitch { [CmdletBinding()] param([string]$Name) }
    function global:New-VMSwitch { [CmdletBinding()] param([string]$Name, [string]$SwitchType, [string]$NetAdapterName, [bool]$AllowManagementOS) }
    function global:Remove-VMSwitch { [CmdletBinding()] param([string]$Name, [switch]$Force) }
    function global:Get-NetNat { [CmdletBinding()] param([string]$Name) }
    function global:New-NetNat { [CmdletBinding()] param([string]$Name, [string]$InternalIPInterfaceAddressPrefix) }
    function global:Remove-NetNat { [CmdletBinding(SupportsShouldProcess = $true)] param([string]$Name) }
    function global:Get-NetIPAddress { [CmdletBinding()] param([string]$InterfaceAlias, [string]$IPAddress) }
    function global:New-NetIPAddress { [CmdletBinding()] param([string]$InterfaceAlias, [string]$IPAddress, [int]$PrefixLength) }
    function global:Get-VM { [CmdletBinding()] param([string]$Name) }
    function global:New-VM { [CmdletBinding()] param([string]$Name, [int]$Generation, [long]$MemoryStartupBytes, [string]$VHDPath, [string]$Path, [string]$SwitchName) }
    function global:Set-VM { [CmdletBinding()] param([string]$Name, [bool]$AutomaticCheckpointsEnabled) }
    function global:Remove-VM { [CmdletBinding()] param([string]$Name, [switch]$Force) }
    function global:Stop-VM { [CmdletBinding()] param([string]$Name, [switch]$TurnOff, [switch]$Force) }
    function global:New-VHD { [CmdletBinding()] param([string]$Path, [string]$ParentPath, [switch]$Differencing) }
    function global:Get-VMProcessor { [CmdletBinding()] param([string]$VMName) }
    function global:Set-VMProcessor { [CmdletBinding()] param([string]$VMName, [int]$Count, [bool]$ExposeVirtualizationExtensions) }
    function global:Get-VMMemory { [CmdletBinding()] param([string]$VMName) }
    function global:Set-VMMemory { [CmdletBinding()] param([string]$VMName, [long]$StartupBytes, [bool]$DynamicMemoryEnabled) }
    function global:Set-VMFirmware { [CmdletBinding()] param([string]$VMName, [string]$SecureBootTemplate) }
    function global:Get-VMNetworkAdapter { [CmdletBinding()] param([string]$VMName) }
    function global:Add-VMNetworkAdapter { [CmdletBinding()] param([string]$VMName, [string]$Name, [string]$SwitchName) }
    function global:Rename-VMNetworkAdapter { [CmdletBinding()] param([string]$VMName, [string]$Name, [string]$NewName) }
    function global:Connect-VMNetworkAdapter { [CmdletBinding()] param([string]$VMName, [string]$Name, [string]$SwitchName) }
    function global:Set-VMNetworkAdapter { [CmdletBinding()] param([string]$VMName, [string]$Name, [string]$MacAddressSpoofing, [string]$StaticMacAddress) }
    function global:Get-VMHardDiskDrive { [CmdletBinding()] param([string]$VMName) }

    $script:Manifest = Join-Path $PSScriptRoot '../../ps-modules/Switchyard.Lab/Switchyard.Lab.psd1'
    Import-Module $script:Manifest -Force
    $script:Plan = Get-Content -Raw -LiteralPath $env:SY_LAB_PLAN
    $script:Changed = Get-Content -Raw -LiteralPath $env:SY_LAB_PLAN_CHANGED

    # The state-changing cmdlets: a second apply with no change must call none of them.
    $script:Changers = @('New-VMSwitch', 'New-NetNat', 'New-NetIPAddress', 'New-VM', 'Set-VM', 'New-VHD', 'Set-VMProcessor', 'Set-VMMemory',
        'Set-VMFirmware', 'Add-VMNetworkAdapter', 'Rename-VMNetworkAdapter', 'Connect-VMNetworkAdapter', 'Set-VMNetworkAdapter',
        'Remove-VMSwitch', 'Remove-NetNat', 'Remove-VM', 'Stop-VM')

    function script:Reset-HyperV {
        $global:HV = @{ Switches = [ordered]@{}; Nats = [ordered]@{}; Addresses = @{}; Vms = [ordered]@{}; Disks = @{} }
    }
    Reset-HyperV

    $m = @{ ModuleName = 'Switchyard.Lab' }
    Mock @m Get-VMSwitch { if ($Name) { $global:HV.Switches[$Name] } else { $global:HV.Switches.Values } }
    Mock @m New-VMSwitch {
        $type = if ($NetAdapterName) { 'External' } else { $SwitchType }
        $global:HV.Switches[$Name] = [pscustomobject]@{ Name = $Name; SwitchType = $type }
    }
    Mock @m Get-NetNat { if ($Name) { $global:HV.Nats[$Name] } else { $global:HV.Nats.Values } }
    Mock @m New-NetNat { $global:HV.Nats[$Name] = [pscustomobject]@{ Name = $Name; InternalIPInterfaceAddressPrefix = $InternalIPInterfaceAddressPrefix } }
    Mock @m Get-NetIPAddress { $global:HV.Addresses["$InterfaceAlias|$IPAddress"] }
    Mock @m New-NetIPAddress { $global:HV.Addresses["$InterfaceAlias|$IPAddress"] = [pscustomobject]@{ IPAddress = $IPAddress; PrefixLength = $PrefixLength } }
    Mock @m Test-Path { $global:HV.Disks.ContainsKey($LiteralPath) } -ParameterFilter { $LiteralPath -like '*.vhdx' }
    Mock @m New-VHD { $global:HV.Disks[$Path] = $ParentPath }
    Mock @m Get-VM { if ($Name) { $global:HV.Vms[$Name] } else { $global:HV.Vms.Values } }
    Mock @m New-VM {
        $global:HV.Vms[$Name] = [pscustomobject]@{
            Name = $Name; State = 'Off'; Generation = $Generation
            Processor = [pscustomobject]@{ Count = 1; ExposeVirtualizationExtensions = $false }
            Memory = [pscustomobject]@{ Startup = $MemoryStartupBytes; DynamicMemoryEnabled = $false }
            Adapters = [System.Collections.Generic.List[object]]@([pscustomobject]@{ Name = 'Network Adapter'; SwitchName = $SwitchName; MacAddressSpoofing = 'Off'; MacAddress = '000000000000'; DynamicMacAddressEnabled = $true })
        }
    }
    Mock @m Set-VM {}
    Mock @m Set-VMFirmware {}
    Mock @m Get-VMProcessor { $global:HV.Vms[$VMName].Processor }
    Mock @m Set-VMProcessor { $p = $global:HV.Vms[$VMName].Processor; $p.Count = $Count; $p.ExposeVirtualizationExtensions = $ExposeVirtualizationExtensions }
    Mock @m Get-VMMemory { $global:HV.Vms[$VMName].Memory }
    Mock @m Set-VMMemory { $mm = $global:HV.Vms[$VMName].Memory; $mm.Startup = $StartupBytes; $mm.DynamicMemoryEnabled = $DynamicMemoryEnabled }
    Mock @m Get-VMNetworkAdapter { $global:HV.Vms[$VMName].Adapters }
    Mock @m Rename-VMNetworkAdapter { ($global:HV.Vms[$VMName].Adapters | Where-Object Name -EQ $Name).Name = $NewName }
    Mock @m Add-VMNetworkAdapter { $global:HV.Vms[$VMName].Adapters.Add([pscustomobject]@{ Name = $Name; SwitchName = $SwitchName; MacAddressSpoofing = 'Off'; MacAddress = '000000000000'; DynamicMacAddressEnabled = $true }) }
    Mock @m Connect-VMNetworkAdapter { ($global:HV.Vms[$VMName].Adapters | Where-Object Name -EQ $Name).SwitchName = $SwitchName }
    Mock @m Set-VMNetworkAdapter {
        $a = $global:HV.Vms[$VMName].Adapters | Where-Object Name -EQ $Name
        if ($MacAddressSpoofing) { $a.MacAddressSpoofing = $MacAddressSpoofing }
        if ($StaticMacAddress) { $a.MacAddress = $StaticMacAddress; $a.DynamicMacAddressEnabled = $false }
    }
    foreach ($c in 'Remove-VMSwitch', 'Remove-NetNat', 'Remove-VM', 'Stop-VM') { Mock @m $c {} }

    function script:Assert-NoChange {
        foreach ($c in $script:Changers) { Should -Invoke -ModuleName Switchyard.Lab $c -Times 0 -Exactly -Scope It -Because "$c changes the host" }
    }
}

AfterAll {
    Remove-Module Switchyard.Lab -Force -ErrorAction SilentlyContinue
    foreach ($f in 'Get-VMSwitch', 'New-VMSwitch', 'Remove-VMSwitch', 'Get-NetNat', 'New-NetNat', 'Remove-NetNat', 'Get-NetIPAddress', 'New-NetIPAddress', 'Get-VM', 'New-VM', 'Set-VM',
        'Remove-VM', 'Stop-VM', 'New-VHD', 'Get-VMProcessor', 'Set-VMProcessor', 'Get-VMMemory', 'Set-VMMemory', 'Set-VMFirmware', 'Get-VMNetworkAdapter', 'Add-VMNetworkAdapter',
        'Rename-VMNetworkAdapter', 'Connect-VMNetworkAdapter', 'Set-VMNetworkAdapter', 'Get-VMHardDiskDrive') {
        Remove-Item -Path "function:global:$f" -ErrorAction SilentlyContinue
    }
    Remove-Variable -Name HV -Scope Global -ErrorAction SilentlyContinue
}

Describe 'Switchyard.Lab manifest and cmdlets' {
    It 'passes Test-ModuleManifest and exports the documented cmdlets' -ForEach @(@{ Names = $script:Exported }) {
        $info = Test-ModuleManifest -Path $script:Manifest -ErrorAction Stop
        @($info.ExportedFunctions.Keys | Sort-Object) | Should -Be @($Names | Sort-Object)
    }
    It '<Name>: parameters, -WhatIf/-Confirm and help' -ForEach $script:Cases {
        $command = Get-Command -Module Switchyard.Lab -Name $Name
        $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
        $list = foreach ($p in $command.Parameters.Values) {
            if ($common -contains $p.Name) { continue }
            $mandatory = @($p.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.Mandatory }).Count -gt 0
            '{0}:{1}{2}' -f $p.Name, $p.ParameterType.Name, $(if ($mandatory) { '!' } else { '' })
        }
        ($list -join ' ') | Should -Be $Expected.Params
        $command.Parameters.ContainsKey('WhatIf') | Should -Be $Expected.ShouldProcess
        $command.Parameters.ContainsKey('Confirm') | Should -Be $Expected.ShouldProcess
        $help = Get-Help -Name $Name -Full
        $help.Synopsis | Should -Not -Match "^\s*$([regex]::Escape($Name))\s"
        @($help.Examples.Example).Count | Should -BeGreaterThan 0
        foreach ($p in $command.Parameters.Keys | Where-Object { $common -notcontains $_ }) {
            (($help.Parameters.Parameter | Where-Object Name -EQ $p).Description | Out-String).Trim() | Should -Not -BeNullOrEmpty -Because "-$p is documented"
        }
    }
}

Describe 'Invoke-SwitchyardLabPlan: 1 Linux control plane + 2 Windows workers' {
    BeforeAll { Reset-HyperV }

    It '-WhatIf prints the plan and changes nothing' {
        $steps = Invoke-SwitchyardLabPlan -Json $script:Plan -WhatIf
        Assert-NoChange
        @($steps | Where-Object Status -EQ 'done').Count | Should -Be 0
        @($steps | Where-Object Status -EQ 'whatif').Count | Should -BeGreaterThan 10
        ($steps | Where-Object { $_.Step -eq 'vm' -and $_.Target -eq 'lab1-n1' }).Status | Should -Be 'whatif'
        $global:HV.Vms.Count | Should -Be 0
    }

    It 'applies: the exact Hyper-V and NetTCPIP calls' {
        $steps = Invoke-SwitchyardLabPlan -Json $script:Plan -Confirm:$false
        $m = @{ ModuleName = 'Switchyard.Lab'; Exactly = $true; Scope = 'It' }
        # Switches: the pod network is NAT (Internal + host address + WinNAT), the uplink External.
        Should @m -Invoke New-VMSwitch -Times 2
        Should @m -Invoke New-VMSwitch -Times 1 -ParameterFilter { $Name -eq 'lab1-pods' -and $SwitchType -eq 'Internal' -and -not $NetAdapterName }
        Should @m -Invoke New-VMSwitch -Times 1 -ParameterFilter { $Name -eq 'lab1-uplink' -and $NetAdapterName -eq 'Ethernet' -and $AllowManagementOS -eq $true }
        Should @m -Invoke New-NetIPAddress -Times 1 -ParameterFilter { $InterfaceAlias -eq 'vEthernet (lab1-pods)' -and $IPAddress -eq '192.168.77.1' -and $PrefixLength -eq 24 }
        Should @m -Invoke New-NetNat -Times 1 -ParameterFilter { $Name -eq 'lab1-pods' -and $InternalIPInterfaceAddressPrefix -eq '192.168.77.0/24' }
        # Disks: one differencing disk per node, on its base image.
        Should @m -Invoke New-VHD -Times 3
        Should @m -Invoke New-VHD -Times 1 -ParameterFilter { $Path -eq 'D:\VMs\lab1-n0\lab1-n0.vhdx' -and $ParentPath -eq 'D:\base\debian12.vhdx' -and $Differencing }
        Should @m -Invoke New-VHD -Times 1 -ParameterFilter { $Path -eq 'D:\VMs\lab1-n1\lab1-n1.vhdx' -and $ParentPath -eq 'D:\base\ws2022.vhdx' -and $Differencing }
        Should @m -Invoke New-VHD -Times 1 -ParameterFilter { $Path -eq 'D:\VMs\lab1-n2\lab1-n2.vhdx' -and $ParentPath -eq 'D:\base\ws2022.vhdx' -and $Differencing }
        # VMs: generation 2, on the pod switch, memory as planned (Linux 2 GB, Windows 4 GB).
        Should @m -Invoke New-VM -Times 3 -ParameterFilter { $Generation -eq 2 -and $SwitchName -eq 'lab1-pods' -and $Path -eq 'D:\VMs' }
        Should @m -Invoke New-VM -Times 1 -ParameterFilter { $Name -eq 'lab1-n0' -and $MemoryStartupBytes -eq 2147483648 -and $VHDPath -eq 'D:\VMs\lab1-n0\lab1-n0.vhdx' }
        Should @m -Invoke New-VM -Times 2 -ParameterFilter { $Name -in 'lab1-n1', 'lab1-n2' -and $MemoryStartupBytes -eq 4294967296 }
        Should @m -Invoke Rename-VMNetworkAdapter -Times 3 -ParameterFilter { $Name -eq 'Network Adapter' -and $NewName -eq 'pods' }
        Should @m -Invoke Set-VM -Times 3 -ParameterFilter { $AutomaticCheckpointsEnabled -eq $false }
        Should @m -Invoke Set-VMFirmware -Times 1 -ParameterFilter { $VMName -eq 'lab1-n0' -and $SecureBootTemplate -eq 'MicrosoftUEFICertificateAuthority' }
        Should @m -Invoke Set-VMFirmware -Times 2 -ParameterFilter { $VMName -in 'lab1-n1', 'lab1-n2' -and $SecureBootTemplate -eq 'MicrosoftWindows' }
        # Nested virtualization on the Windows workers only.
        Should @m -Invoke Set-VMProcessor -Times 2 -ParameterFilter { $VMName -in 'lab1-n1', 'lab1-n2' -and $Count -eq 2 -and $ExposeVirtualizationExtensions -eq $true }
        Should @m -Invoke Set-VMProcessor -Times 1 -ParameterFilter { $VMName -eq 'lab1-n0' -and $Count -eq 2 -and $ExposeVirtualizationExtensions -eq $false }
        Should @m -Invoke Set-VMMemory -Times 3 -ParameterFilter { $DynamicMemoryEnabled -eq $false }
        # MAC address spoofing on every pod-network adapter, with a fixed MAC; not on the uplink.
        Should @m -Invoke Set-VMNetworkAdapter -Times 3
        foreach ($i in 0..2) {
            Should @m -Invoke Set-VMNetworkAdapter -Times 1 -ParameterFilter { $VMName -eq "lab1-n$i" -and $Name -eq 'pods' -and $MacAddressSpoofing -eq 'On' -and $StaticMacAddress -match "^00155D[0-9A-F]{2}0${i}00$" }
        }
        Should @m -Invoke Add-VMNetworkAdapter -Times 1
        Should @m -Invoke Add-VMNetworkAdapter -Times 1 -ParameterFilter { $VMName -eq 'lab1-n0' -and $Name -eq 'uplink' -and $SwitchName -eq 'lab1-uplink' }
        Should @m -Invoke Connect-VMNetworkAdapter -Times 0
        # Progress: a record per step; the guests' static addresses are in the plan output.
        @($steps | Where-Object Status -EQ 'whatif').Count | Should -Be 0
        ($steps | Where-Object { $_.Step -eq 'guest-address' -and $_.Target -eq 'lab1-n2/pods' }).Action | Should -Match '^192\.168\.77\.12/24 via 192\.168\.77\.1'
        $global:HV.Vms.Count | Should -Be 3
    }

    It 'is idempotent: a second apply with no change makes no call that changes the host' {
        $steps = Invoke-SwitchyardLabPlan -Json $script:Plan -Confirm:$false
        Assert-NoChange
        @($steps | Where-Object Status -NE 'unchanged').Count | Should -Be 0
    }

    It 'applies a change with exactly the calls it needs (bigger workers, a Private storage switch)' {
        $steps = Invoke-SwitchyardLabPlan -Json $script:Changed -Confirm:$false
        $m = @{ ModuleName = 'Switchyard.Lab'; Exactly = $true; Scope = 'It' }
        Should @m -Invoke New-VMSwitch -Times 1
        Should @m -Invoke New-VMSwitch -Times 1 -ParameterFilter { $Name -eq 'lab1-storage' -and $SwitchType -eq 'Private' }
        Should @m -Invoke Set-VMProcessor -Times 2
        Should @m -Invoke Set-VMProcessor -Times 2 -ParameterFilter { $VMName -in 'lab1-n1', 'lab1-n2' -and $Count -eq 4 -and $ExposeVirtualizationExtensions -eq $true }
        Should @m -Invoke Set-VMMemory -Times 2
        Should @m -Invoke Set-VMMemory -Times 2 -ParameterFilter { $VMName -in 'lab1-n1', 'lab1-n2' -and $StartupBytes -eq 8589934592 -and $DynamicMemoryEnabled -eq $false }
        Should @m -Invoke Add-VMNetworkAdapter -Times 2
        Should @m -Invoke Add-VMNetworkAdapter -Times 2 -ParameterFilter { $VMName -in 'lab1-n1', 'lab1-n2' -and $Name -eq 'storage' -and $SwitchName -eq 'lab1-storage' }
        foreach ($c in 'New-NetNat', 'New-NetIPAddress', 'New-VM', 'New-VHD', 'Set-VM', 'Set-VMFirmware', 'Rename-VMNetworkAdapter', 'Connect-VMNetworkAdapter', 'Set-VMNetworkAdapter', 'Remove-VM', 'Remove-VMSwitch', 'Stop-VM') {
            Should @m -Invoke $c -Times 0 -Because "$c is not part of this change"
        }
        @($steps | Where-Object Status -EQ 'done').Count | Should -Be 7
        $again = Invoke-SwitchyardLabPlan -Json $script:Changed -Confirm:$false
        @($again | Where-Object Status -NE 'unchanged').Count | Should -Be 0
    }

    It 'refuses to resize a running VM, naming the VM and the field, and changes nothing' {
        $global:HV.Vms['lab1-n1'].State = 'Running'
        try {
            { Invoke-SwitchyardLabPlan -Json $script:Plan -Confirm:$false } | Should -Throw '*lab1-n1*ProcessorCount*Running*stop it first*'
            Should -Invoke -ModuleName Switchyard.Lab Set-VMProcessor -Times 0 -Exactly -Scope It -ParameterFilter { $VMName -eq 'lab1-n1' }
        } finally {
            $global:HV.Vms['lab1-n1'].State = 'Off'
        }
    }

    It 'reports lab objects the plan no longer names and leaves them alone' {
        $global:HV.Vms['lab1-old'] = [pscustomobject]@{ Name = 'lab1-old'; State = 'Off' }
        $steps = Invoke-SwitchyardLabPlan -Json $script:Changed -Confirm:$false
        ($steps | Where-Object Step -EQ 'extra').Target | Should -Be 'lab1-old'
        Should -Invoke -ModuleName Switchyard.Lab Remove-VM -Times 0 -Exactly -Scope It
    }

    It 'refuses a plan with a bad field before touching the host, naming the field' {
        $bad = $script:Plan | ConvertFrom-Json
        $bad.Vms[1].Generation = 1
        { Invoke-SwitchyardLabPlan -Json ($bad | ConvertTo-Json -Depth 10) -Confirm:$false } | Should -Throw '*Vms`[1`].Generation must be 2*'
        $bad = $script:Plan | ConvertFrom-Json
        $bad.Switches[1].Type = 'Bridge'
        { Invoke-SwitchyardLabPlan -Json ($bad | ConvertTo-Json -Depth 10) -Confirm:$false } | Should -Throw '*Switches`[1`].Type*'
        Assert-NoChange
    }
}
