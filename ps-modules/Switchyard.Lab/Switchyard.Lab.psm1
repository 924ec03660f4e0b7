#Requires -Version 5.1
<#
    Switchyard.Lab: a Hyper-V lab for Windows Kubernetes nodes (../shared/reference/flannel-kubeproxy-windows-ops.md
    §5): an Internal vSwitch with a host address and a WinNAT network (stable node IPs, no DHCP), node VMs
    cloned from a parent VHD as differencing disks, with MAC address spoofing on, static memory and,
    when asked, nested virtualization. Every cmdlet that changes the host supports -WhatIf, and every
    value is a parameter (plans arrive as JSON data, guest settings go through Invoke-Command -ArgumentList).
#>

$ErrorActionPreference = 'Stop'

function Resolve-SwitchyardLabJson {
    <#
    .SYNOPSIS
    Returns the parsed lab plan given as -Json or as base64 of UTF-8 JSON.
    .PARAMETER Json
    The plan as JSON.
    .PARAMETER EncodedJson
    The plan as base64 of its UTF-8 JSON.
    .EXAMPLE
    Resolve-SwitchyardLabJson -Json '{"Prefix":"lab1","Nodes":[]}'
    #>
    [CmdletBinding()]
    param([AllowEmptyString()][string]$Json, [AllowEmptyString()][string]$EncodedJson)
    if ($PSBoundParameters.ContainsKey('EncodedJson')) {
        if ($EncodedJson -notmatch '^[A-Za-z0-9+/]*={0,2}$') { throw '-EncodedJson must be base64 (A-Z, a-z, 0-9, +, /, =)' }
        $Json = [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($EncodedJson))
    }
    try {
        ConvertFrom-Json -InputObject $Json
    } catch {
        throw "the lab plan is not valid JSON: $($_.Exception.Message)"
    }
}

function Get-SwitchyardLab {
    <#
    .SYNOPSIS
    Lists the Hyper-V switches, NAT networks and VMs of a lab.
    .DESCRIPTION
    Everything a lab creates is named with its prefix; this returns one object per switch, NAT and VM whose
    name starts with it.
    .PARAMETER Prefix
    The lab's name prefix.
    .EXAMPLE
    Get-SwitchyardLab -Prefix lab1
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory = $true)][ValidatePattern('^[a-z0-9][a-z0-9-]{0,11}$')][string]$Prefix)
    $like = "$Prefix-*"
    foreach ($s in @(Get-VMSwitch -ErrorAction SilentlyContinue | Where-Object { $_.Name -like $like })) {
        [pscustomobject]@{ Kind = 'Switch'; Name = $s.Name; State = $s.SwitchType.ToString() }
    }
    foreach ($n in @(Get-NetNat -ErrorAction SilentlyContinue | Where-Object { $_.Name -like $like })) {
        [pscustomobject]@{ Kind = 'Nat'; Name = $n.Name; State = $n.InternalIPInterfaceAddressPrefix }
    }
    foreach ($v in @(Get-VM -ErrorAction SilentlyContinue | Where-Object { $_.Name -like $like })) {
        [pscustomobject]@{ Kind = 'VM'; Name = $v.Name; State = $v.State.ToString() }
    }
}

function New-SwitchyardLabSwitch {
    <#
    .SYNOPSIS
    Creates the lab's Internal vSwitch, its host address and a WinNAT network for it.
    .DESCRIPTION
    New-VMSwitch -SwitchType Internal, then New-NetIPAddress on "vEthernet (<Name>)" and New-NetNat for the
    prefix. Steps already done are skipped, so running it twice is harmless. Windows allows one WinNAT
    network per host. Supports -WhatIf and -Confirm.
    .PARAMETER Name
    Switch name (also the NAT name).
    .PARAMETER HostAddress
    The host's address on the switch (the guests' gateway), e.g. 192.168.77.1.
    .PARAMETER PrefixLength
    Prefix length of the lab underlay (default 24).
    .EXAMPLE
    New-SwitchyardLabSwitch -Name lab1-sw -HostAddress 192.168.77.1 -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
    param(
        [Parameter(Mandatory = $true)][ValidatePattern('^[A-Za-z0-9][A-Za-z0-9-]{0,62}$')][string]$Name,
        [Parameter(Mandatory = $true)][ipaddress]$HostAddress,
        [ValidateRange(8, 30)][int]$PrefixLength = 24
    )
    if (-not (Get-VMSwitch -Name $Name -ErrorAction SilentlyContinue)) {
        if ($PSCmdlet.ShouldProcess("Hyper-V switch $Name", 'Create Internal switch')) {
            $null = New-VMSwitch -Name $Name -SwitchType Internal
        }
    }
    $alias = "vEthernet ($Name)"
    if (-not (Get-NetIPAddress -InterfaceAlias $alias -IPAddress $HostAddress.IPAddressToString -ErrorAction SilentlyContinue)) {
        if ($PSCmdlet.ShouldProcess($alias, "Add address $HostAddress/$PrefixLength")) {
            $null = New-NetIPAddress -InterfaceAlias $alias -IPAddress $HostAddress.IPAddressToString -PrefixLength $PrefixLength
        }
    }
    $bytes = $HostAddress.GetAddressBytes()
    $mask = [uint32]([math]::Pow(2, 32) - [math]::Pow(2, 32 - $PrefixLength))
    $value = ([uint32]$bytes[0] -shl 24) -bor ([uint32]$bytes[1] -shl 16) -bor ([uint32]$bytes[2] -shl 8) -bor [uint32]$bytes[3]
    $network = $value -band $mask
    $prefix = '{0}.{1}.{2}.{3}/{4}' -f (($network -shr 24) -band 255), (($network -shr 16) -band 255), (($network -shr 8) -band 255), ($network -band 255), $PrefixLength
    if (-not (Get-NetNat -Name $Name -ErrorAction SilentlyContinue)) {
        if ($PSCmdlet.ShouldProcess("WinNAT $Name", "Create for $prefix")) {
            $null = New-NetNat -Name $Name -InternalIPInterfaceAddressPrefix $prefix
        }
    }
}

function Remove-SwitchyardLabSwitch {
    <#
    .SYNOPSIS
    Removes a lab switch and its WinNAT network.
    .DESCRIPTION
    Remove-NetNat then Remove-VMSwitch; missing pieces are skipped. Supports -WhatIf and -Confirm.
    .PARAMETER Name
    The switch name.
    .EXAMPLE
    Remove-SwitchyardLabSwitch -Name lab1-sw -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
    param([Parameter(Mandatory = $true)][string]$Name)
    if (Get-NetNat -Name $Name -ErrorAction SilentlyContinue) {
        if ($PSCmdlet.ShouldProcess("WinNAT $Name", 'Remove')) { Remove-NetNat -Name $Name -Confirm:$false }
    }
    if (Get-VMSwitch -Name $Name -ErrorAction SilentlyContinue) {
        if ($PSCmdlet.ShouldProcess("Hyper-V switch $Name", 'Remove')) { Remove-VMSwitch -Name $Name -Force }
    }
}

function New-SwitchyardLabVm {
    <#
    .SYNOPSIS
    Creates a lab node VM from a parent VHD, ready for HNS networking.
    .DESCRIPTION
    Creates a differencing disk from -ParentVhdPath, a generation 2 VM on -SwitchName with static memory,
    MAC address spoofing on (needed for Transparent networks and nested guests; removes a variable for
    L2Bridge) and automatic checkpoints off; with -NestedVirtualization, exposes the virtualization
    extensions (the VM must be off, memory static). An existing VM of that name is left alone.
    Supports -WhatIf and -Confirm.
    .PARAMETER Name
    The VM name.
    .PARAMETER SwitchName
    The vSwitch for the VM's network adapter.
    .PARAMETER ParentVhdPath
    A sysprepped base disk; the VM gets a differencing disk on top of it.
    .PARAMETER VmPath
    Folder for the VM's configuration and disk.
    .PARAMETER MemoryStartupBytes
    Static memory (default 4 GB).
    .PARAMETER ProcessorCount
    Virtual processors (default 2).
    .PARAMETER NestedVirtualization
    Expose virtualization extensions (Hyper-V isolated containers inside the node).
    .EXAMPLE
    New-SwitchyardLabVm -Name lab1-n0 -SwitchName lab1-sw -ParentVhdPath D:\base\ws2022.vhdx -VmPath D:\VMs -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
    param(
        [Parameter(Mandatory = $true)][ValidatePattern('^[A-Za-z0-9][A-Za-z0-9-]{0,62}$')][string]$Name,
        [Parameter(Mandatory = $true)][string]$SwitchName,
        [Parameter(Mandatory = $true)][string]$ParentVhdPath,
        [Parameter(Mandatory = $true)][string]$VmPath,
        [ValidateRange(1073741824, 1099511627776)][long]$MemoryStartupBytes = 4294967296, # 1 GB - 1 TB, default 4 GB
        [ValidateRange(1, 64)][int]$ProcessorCount = 2,
        [switch]$NestedVirtualization
    )
    if (Get-VM -Name $Name -ErrorAction SilentlyContinue) {
        Write-Verbose "VM $Name exists; leaving it as it is"
        return
    }
    if (-not (Test-Path -LiteralPath $ParentVhdPath -PathType Leaf)) { throw "ParentVhdPath: $ParentVhdPath does not exist" }
    $disk = Join-Path -Path (Join-Path -Path $VmPath -ChildPath $Name) -ChildPath "$Name.vhdx"
    if ($PSCmdlet.ShouldProcess("VM $Name", "Create on $SwitchName from $ParentVhdPath")) {
        $null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $disk)
        $null = New-VHD -Path $disk -ParentPath $ParentVhdPath -Differencing
        $null = New-VM -Name $Name -Generation 2 -MemoryStartupBytes $MemoryStartupBytes -VHDPath $disk -SwitchName $SwitchName -Path $VmPath
        Set-VMProcessor -VMName $Name -Count $ProcessorCount -ExposeVirtualizationExtensions ([bool]$NestedVirtualization)
        Set-VMMemory -VMName $Name -DynamicMemoryEnabled $false
        Set-VMNetworkAdapter -VMName $Name -MacAddressSpoofing On
        Set-VM -Name $Name -AutomaticCheckpointsEnabled $false
    }
}

function Remove-SwitchyardLabVm {
    <#
    .SYNOPSIS
    Turns off and removes a lab VM, and its differencing disk.
    .DESCRIPTION
    Stop-VM -TurnOff, Remove-VM, then deletes the VM's disks (never the parent disk). Supports -WhatIf and -Confirm.
    .PARAMETER Name
    The VM name.
    .EXAMPLE
    Remove-SwitchyardLabVm -Name lab1-n0 -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
    param([Parameter(Mandatory = $true, ValueFromPipelineByPropertyName = $true)][string]$Name)
    process {
        $vm = Get-VM -Name $Name -ErrorAction SilentlyContinue
        if (-not $vm) { return }
        if ($PSCmdlet.ShouldProcess("VM $Name", 'Turn off and remove with its disks')) {
            $disks = @(Get-VMHardDiskDrive -VMName $Name | ForEach-Object { $_.Path })
            if ($vm.State -ne 'Off') { Stop-VM -Name $Name -TurnOff -Force }
            Remove-VM -Name $Name -Force
            foreach ($d in $disks) { Remove-Item -LiteralPath $d -Force -ErrorAction SilentlyContinue }
        }
    }
}

function Set-SwitchyardLabNodeAddress {
    <#
    .SYNOPSIS
    Gives a lab node VM its static underlay address over PowerShell Direct.
    .DESCRIPTION
    The lab switch has no DHCP. This runs inside the guest through Invoke-Command -VMName (PowerShell
    Direct, which keeps working while HNS rebinds the guest's NIC), passing every value with -ArgumentList.
    Supports -WhatIf and -Confirm.
    .PARAMETER VMName
    The node VM.
    .PARAMETER Credential
    An administrator of the guest.
    .PARAMETER IPAddress
    The node's underlay address.
    .PARAMETER PrefixLength
    Underlay prefix length (default 24).
    .PARAMETER Gateway
    The host's address on the lab switch.
    .PARAMETER DnsServer
    DNS servers for the node.
    .EXAMPLE
    Set-SwitchyardLabNodeAddress -VMName lab1-n0 -Credential $cred -IPAddress 192.168.77.10 -Gateway 192.168.77.1 -DnsServer 1.1.1.1 -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
    param(
        [Parameter(Mandatory = $true)][string]$VMName,
        [Parameter(Mandatory = $true)][pscredential]$Credential,
        [Parameter(Mandatory = $true)][ipaddress]$IPAddress,
        [ValidateRange(8, 30)][int]$PrefixLength = 24,
        [Parameter(Mandatory = $true)][ipaddress]$Gateway,
        [ipaddress[]]$DnsServer = @()
    )
    if (-not $PSCmdlet.ShouldProcess("VM $VMName", "Set address $IPAddress/$PrefixLength via $Gateway")) { return }
    $dns = @($DnsServer | ForEach-Object { $_.IPAddressToString })
    Invoke-Command -VMName $VMName -Credential $Credential -ArgumentList $IPAddress.IPAddressToString, $PrefixLength, $Gateway.IPAddressToString, $dns -ScriptBlock {
        param($ip, $len, $gw, $servers)
        $nic = Get-NetAdapter -Physical | Where-Object { $_.Status -eq 'Up' } | Select-Object -First 1
        if (-not $nic) { throw 'no connected network adapter in the guest' }
        Get-NetIPAddress -InterfaceIndex $nic.ifIndex -AddressFamily IPv4 -ErrorAction SilentlyContinue | Remove-NetIPAddress -Confirm:$false
        Get-NetRoute -InterfaceIndex $nic.ifIndex -DestinationPrefix '0.0.0.0/0' -ErrorAction SilentlyContinue | Remove-NetRoute -Confirm:$false
        $null = New-NetIPAddress -InterfaceIndex $nic.ifIndex -IPAddress $ip -PrefixLength $len -DefaultGateway $gw
        if ($servers.Count -gt 0) { Set-DnsClientServerAddress -InterfaceIndex $nic.ifIndex -ServerAddresses $servers }
    }
}

function Write-SwitchyardLabStep {
    <#
    .SYNOPSIS
    Reports one step of a lab apply: a progress bar entry and a record on the output.
    .PARAMETER Step
    The kind of step (switch, address, nat, disk, vm, firmware, processor, memory, adapter).
    .PARAMETER Target
    What the step is about (a switch or VM name).
    .PARAMETER Action
    What was (or would be) done.
    .PARAMETER Status
    done, unchanged or whatif.
    .EXAMPLE
    Write-SwitchyardLabStep -Step switch -Target lab1-pods -Action 'New-VMSwitch Internal' -Status done
    #>
    [CmdletBinding()]
    param([string]$Step, [string]$Target, [string]$Action, [string]$Status)
    Write-Progress -Activity 'Switchyard lab' -Status "$Step $Target" -CurrentOperation $Action
    [pscustomobject]@{ Step = $Step; Target = $Target; Action = $Action; Status = $Status }
}

function Invoke-SwitchyardLabStep {
    <#
    .SYNOPSIS
    Runs one change of a lab apply under ShouldProcess and reports it.
    .DESCRIPTION
    -WhatIf and -Confirm given to Invoke-SwitchyardLabPlan reach this through the preference variables.
    .PARAMETER Step
    The kind of step.
    .PARAMETER Target
    What the step is about.
    .PARAMETER Action
    What the step does, as shown by -WhatIf.
    .PARAMETER ScriptBlock
    The change.
    .EXAMPLE
    Invoke-SwitchyardLabStep -Step vm -Target lab1-n0 -Action 'New-VM' -ScriptBlock { New-VM -Name lab1-n0 }
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
    param([string]$Step, [string]$Target, [string]$Action, [scriptblock]$ScriptBlock)
    if ($PSCmdlet.ShouldProcess($Target, $Action)) {
        $null = & $ScriptBlock
        Write-SwitchyardLabStep -Step $Step -Target $Target -Action $Action -Status 'done'
    } else {
        Write-SwitchyardLabStep -Step $Step -Target $Target -Action $Action -Status 'whatif'
    }
}

function Test-SwitchyardLabPlan {
    <#
    .SYNOPSIS
    Checks a lab plan's shape and returns it, naming the first field that is wrong.
    .PARAMETER Plan
    The parsed plan.
    .EXAMPLE
    Test-SwitchyardLabPlan -Plan (ConvertFrom-Json $json)
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory = $true)]$Plan)
    foreach ($field in 'Prefix', 'VmPath', 'Switches', 'Vms') {
        if (-not $Plan.PSObject.Properties[$field]) { throw "plan: $field is required" }
    }
    if ($Plan.Prefix -notmatch '^[a-z0-9][a-z0-9-]{0,11}$') { throw "plan: Prefix `"$($Plan.Prefix)`" must be 1-12 lowercase letters, digits or dashes" }
    $i = 0
    foreach ($sw in @($Plan.Switches)) {
        if ([string]$sw.Name -notlike "$($Plan.Prefix)-*") { throw "plan: Switches[$i].Name must start with `"$($Plan.Prefix)-`"" }
        if (@('External', 'Internal', 'Private', 'NAT') -notcontains [string]$sw.Type) { throw "plan: Switches[$i].Type `"$($sw.Type)`" must be External, Internal, Private or NAT" }
        if ($sw.Type -eq 'External' -and -not $sw.NetAdapterName) { throw "plan: Switches[$i].NetAdapterName is required for an External switch" }
        if ($sw.Type -eq 'NAT' -and -not ($sw.HostAddress -and $sw.NatPrefix)) { throw "plan: Switches[$i] (NAT) needs HostAddress and NatPrefix" }
        $i++
    }
    $i = 0
    foreach ($vm in @($Plan.Vms)) {
        if ([string]$vm.Name -notlike "$($Plan.Prefix)-*") { throw "plan: Vms[$i].Name must start with `"$($Plan.Prefix)-`"" }
        foreach ($field in 'MemoryStartupBytes', 'ProcessorCount', 'ParentVhdPath', 'VhdPath', 'Adapters') {
            if (-not $vm.PSObject.Properties[$field]) { throw "plan: Vms[$i].$field is required" }
        }
        if ([int]$vm.Generation -ne 2) { throw "plan: Vms[$i].Generation must be 2" }
        $i++
    }
    $Plan
}

function Invoke-SwitchyardLabPlan {
    <#
    .SYNOPSIS
    Brings a Hyper-V host to a lab plan: switches, NAT, differencing disks, VMs and their adapters.
    .DESCRIPTION
    The plan is what `switchyard lab plan --driver hyperv` prints (src/lab/hyperv-plan.ts): Prefix, VmPath,
    Switches (External, Internal, Private, NAT = Internal + host address + WinNAT) and Vms (generation 2,
    static memory, processors, nested virtualization, a differencing disk on ParentVhdPath, adapters with
    MAC address spoofing and static MACs). Each step first reads the host (Get-VMSwitch, Get-VM,
    Get-VMProcessor, ...) and changes only what differs, so a second run with the same plan changes nothing.
    A VM whose processor or memory must change while it runs is refused, naming the VM and the field.
    Writes one record per step (Step, Target, Action, Status: done, unchanged or whatif) and a progress bar.
    Objects of the lab that the plan no longer names are reported, never removed (Remove-SwitchyardLab does
    that). Supports -WhatIf (prints the plan's changes) and -Confirm.
    .PARAMETER Json
    The plan as JSON.
    .PARAMETER EncodedJson
    The plan as base64 of its UTF-8 JSON.
    .EXAMPLE
    Invoke-SwitchyardLabPlan -Json (Get-Content lab1.plan.json -Raw) -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium', DefaultParameterSetName = 'Json')]
    param(
        [Parameter(Mandatory = $true, ParameterSetName = 'Json')][string]$Json,
        [Parameter(Mandatory = $true, ParameterSetName = 'EncodedJson')][string]$EncodedJson
    )
    $plan = if ($PSCmdlet.ParameterSetName -eq 'EncodedJson') { Resolve-SwitchyardLabJson -EncodedJson $EncodedJson } else { Resolve-SwitchyardLabJson -Json $Json }
    $plan = Test-SwitchyardLabPlan -Plan $plan
    # Each step asks ShouldProcess itself; -WhatIf is passed on explicitly (-Confirm arrives as $ConfirmPreference).
    $step = @{ WhatIf = [bool]$WhatIfPreference }

    foreach ($sw in @($plan.Switches)) {
        $name = [string]$sw.Name
        $existing = Get-VMSwitch -Name $name -ErrorAction SilentlyContinue
        $hyperVType = if ($sw.Type -eq 'NAT') { 'Internal' } else { [string]$sw.Type }
        if (-not $existing) {
            switch ($hyperVType) {
                'External' { Invoke-SwitchyardLabStep @step 'switch' $name "New-VMSwitch External on $($sw.NetAdapterName)" { New-VMSwitch -Name $name -NetAdapterName ([string]$sw.NetAdapterName) -AllowManagementOS $true } }
                default { Invoke-SwitchyardLabStep @step 'switch' $name "New-VMSwitch $hyperVType" { New-VMSwitch -Name $name -SwitchType $hyperVType } }
            }
        } elseif ("$($existing.SwitchType)" -ne $hyperVType) {
            throw "switch ${name}: exists as $($existing.SwitchType), the plan wants $hyperVType; remove it first (Remove-SwitchyardLabSwitch)"
        } else {
            Write-SwitchyardLabStep -Step 'switch' -Target $name -Action "$hyperVType switch" -Status 'unchanged'
        }
        if ($sw.HostAddress) {
            $alias = "vEthernet ($name)"
            $address = [string]$sw.HostAddress
            $length = [int]$sw.PrefixLength
            if (Get-NetIPAddress -InterfaceAlias $alias -IPAddress $address -ErrorAction SilentlyContinue) {
                Write-SwitchyardLabStep -Step 'address' -Target $alias -Action "$address/$length" -Status 'unchanged'
            } else {
                Invoke-SwitchyardLabStep @step 'address' $alias "New-NetIPAddress $address/$length" { New-NetIPAddress -InterfaceAlias $alias -IPAddress $address -PrefixLength $length }
            }
        }
        if ($sw.Type -eq 'NAT') {
            $nat = Get-NetNat -Name $name -ErrorAction SilentlyContinue
            $natPrefix = [string]$sw.NatPrefix
            if (-not $nat) {
                Invoke-SwitchyardLabStep @step 'nat' $name "New-NetNat $natPrefix" { New-NetNat -Name $name -InternalIPInterfaceAddressPrefix $natPrefix }
            } elseif ("$($nat.InternalIPInterfaceAddressPrefix)" -ne $natPrefix) {
                throw "NAT ${name}: covers $($nat.InternalIPInterfaceAddressPrefix), the plan wants $natPrefix; remove it first (Remove-NetNat)"
            } else {
                Write-SwitchyardLabStep -Step 'nat' -Target $name -Action $natPrefix -Status 'unchanged'
            }
        }
    }

    foreach ($vm in @($plan.Vms)) {
        $name = [string]$vm.Name
        $memory = [long]$vm.MemoryStartupBytes
        $cpus = [int]$vm.ProcessorCount
        $nested = [bool]$vm.NestedVirtualization
        $disk = [string]$vm.VhdPath
        $parent = [string]$vm.ParentVhdPath
        $adapters = @($vm.Adapters)
        $existing = Get-VM -Name $name -ErrorAction SilentlyContinue
        if (-not $existing) {
            if (Test-Path -LiteralPath $disk) {
                Write-SwitchyardLabStep -Step 'disk' -Target $disk -Action "differencing disk on $parent" -Status 'unchanged'
            } else {
                Invoke-SwitchyardLabStep @step 'disk' $disk "New-VHD -Differencing on $parent" { New-VHD -Path $disk -ParentPath $parent -Differencing }
            }
            $first = $adapters[0]
            Invoke-SwitchyardLabStep @step 'vm' $name "New-VM generation 2, $([long]($memory / 1048576)) MB, on $($first.SwitchName)" {
                New-VM -Name $name -Generation 2 -MemoryStartupBytes $memory -VHDPath $disk -Path ([string]$plan.VmPath) -SwitchName ([string]$first.SwitchName)
                Rename-VMNetworkAdapter -VMName $name -Name 'Network Adapter' -NewName ([string]$first.Name)
                Set-VM -Name $name -AutomaticCheckpointsEnabled $false
            }
            Invoke-SwitchyardLabStep @step 'firmware' $name "Set-VMFirmware -SecureBootTemplate $($vm.SecureBootTemplate)" { Set-VMFirmware -VMName $name -SecureBootTemplate ([string]$vm.SecureBootTemplate) }
            $running = $false
            $processor = $null
            $mem = $null
            $current = @()
        } else {
            $running = "$($existing.State)" -ne 'Off'
            $processor = Get-VMProcessor -VMName $name
            $mem = Get-VMMemory -VMName $name
            $current = @(Get-VMNetworkAdapter -VMName $name)
        }
        $cpuDiffers = -not $processor -or [int]$processor.Count -ne $cpus -or [bool]$processor.ExposeVirtualizationExtensions -ne $nested
        if ($cpuDiffers) {
            if ($running) { throw "VM ${name}: ProcessorCount/NestedVirtualization must change ($($processor.Count) -> $cpus, nested $($processor.ExposeVirtualizationExtensions) -> $nested) but the VM is $($existing.State); stop it first" }
            Invoke-SwitchyardLabStep @step 'processor' $name "Set-VMProcessor -Count $cpus -ExposeVirtualizationExtensions $nested" { Set-VMProcessor -VMName $name -Count $cpus -ExposeVirtualizationExtensions $nested }
        } else {
            Write-SwitchyardLabStep -Step 'processor' -Target $name -Action "$cpus processors, nested $nested" -Status 'unchanged'
        }
        $memDiffers = -not $mem -or [long]$mem.Startup -ne $memory -or [bool]$mem.DynamicMemoryEnabled
        if ($memDiffers) {
            if ($running) { throw "VM ${name}: MemoryStartupBytes must change ($($mem.Startup) -> $memory, static) but the VM is $($existing.State); stop it first" }
            Invoke-SwitchyardLabStep @step 'memory' $name "Set-VMMemory -StartupBytes $memory -DynamicMemoryEnabled false" { Set-VMMemory -VMName $name -StartupBytes $memory -DynamicMemoryEnabled $false }
        } else {
            Write-SwitchyardLabStep -Step 'memory' -Target $name -Action "$([long]($memory / 1048576)) MB static" -Status 'unchanged'
        }
        $index = 0
        foreach ($a in $adapters) {
            $adapterName = [string]$a.Name
            $target = "$name/$adapterName"
            $switchName = [string]$a.SwitchName
            $have = $current | Where-Object { $_.Name -eq $adapterName } | Select-Object -First 1
            if (-not $have -and -not ($index -eq 0 -and -not $existing)) {
                Invoke-SwitchyardLabStep @step 'adapter' $target "Add-VMNetworkAdapter on $switchName" { Add-VMNetworkAdapter -VMName $name -Name $adapterName -SwitchName $switchName }
            } elseif ($have -and "$($have.SwitchName)" -ne $switchName) {
                Invoke-SwitchyardLabStep @step 'adapter' $target "Connect-VMNetworkAdapter to $switchName" { Connect-VMNetworkAdapter -VMName $name -Name $adapterName -SwitchName $switchName }
            }
            $spoofing = if ([bool]$a.MacAddressSpoofing) { 'On' } else { 'Off' }
            $mac = if ($a.PSObject.Properties['StaticMacAddress'] -and $a.StaticMacAddress) { [string]$a.StaticMacAddress } else { $null }
            # An adapter made by this run has Hyper-V's defaults: spoofing Off, a dynamic MAC.
            $haveSpoofing = if ($have) { "$($have.MacAddressSpoofing)" } else { 'Off' }
            $spoofDiffers = $haveSpoofing -ne $spoofing
            $macDiffers = $mac -and (-not $have -or [bool]$have.DynamicMacAddressEnabled -or "$($have.MacAddress)" -ne $mac)
            if ($spoofDiffers -or $macDiffers) {
                $settings = @{ VMName = $name; Name = $adapterName; MacAddressSpoofing = $spoofing }
                if ($mac) { $settings.StaticMacAddress = $mac }
                Invoke-SwitchyardLabStep @step 'adapter' $target "Set-VMNetworkAdapter -MacAddressSpoofing $spoofing$(if ($mac) { " -StaticMacAddress $mac" })" { Set-VMNetworkAdapter @settings }
            } elseif ($have) {
                Write-SwitchyardLabStep -Step 'adapter' -Target $target -Action "on $switchName, spoofing $spoofing" -Status 'unchanged'
            }
            if ($a.PSObject.Properties['IPAddress'] -and $a.IPAddress) {
                # The guest sets its own address (no DHCP on the lab switches): recorded here for the operator.
                Write-SwitchyardLabStep -Step 'guest-address' -Target $target -Action "$($a.IPAddress)/$($a.PrefixLength) via $($a.Gateway) (inside the guest)" -Status 'unchanged'
            }
            $index++
        }
    }

    $named = @(@($plan.Switches) | ForEach-Object { [string]$_.Name }) + @(@($plan.Vms) | ForEach-Object { [string]$_.Name })
    foreach ($o in @(Get-SwitchyardLab -Prefix ([string]$plan.Prefix))) {
        if ($named -notcontains $o.Name) { Write-SwitchyardLabStep -Step 'extra' -Target $o.Name -Action "$($o.Kind) not in the plan (left alone; Remove-SwitchyardLab removes the lab)" -Status 'unchanged' }
    }
}

function Remove-SwitchyardLab {
    <#
    .SYNOPSIS
    Removes every VM, switch and NAT network of a lab.
    .DESCRIPTION
    Finds the lab's objects by prefix (Get-SwitchyardLab) and removes the VMs first, then the switch and its
    NAT. Supports -WhatIf and -Confirm.
    .PARAMETER Prefix
    The lab's name prefix.
    .EXAMPLE
    Remove-SwitchyardLab -Prefix lab1 -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
    param([Parameter(Mandatory = $true)][ValidatePattern('^[a-z0-9][a-z0-9-]{0,11}$')][string]$Prefix)
    $common = @{ WhatIf = [bool]$WhatIfPreference; Confirm = $false }
    $objects = @(Get-SwitchyardLab -Prefix $Prefix)
    foreach ($vm in @($objects | Where-Object { $_.Kind -eq 'VM' })) { Remove-SwitchyardLabVm -Name $vm.Name @common }
    foreach ($sw in @($objects | Where-Object { $_.Kind -eq 'Switch' })) { Remove-SwitchyardLabSwitch -Name $sw.Name @common }
}

Export-ModuleMember -Function @(
    'Get-SwitchyardLab', 'Invoke-SwitchyardLabPlan', 'Remove-SwitchyardLab',
    'New-SwitchyardLabSwitch', 'Remove-SwitchyardLabSwitch',
    'New-SwitchyardLabVm', 'Remove-SwitchyardLabVm', 'Set-SwitchyardLabNodeAddress'
)
