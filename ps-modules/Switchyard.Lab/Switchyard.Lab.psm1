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

function Invoke-SwitchyardLabPlan {
    <#
    .SYNOPSIS
    Brings up a whole lab from a plan: the switch and NAT, then one VM per node.
    .DESCRIPTION
    The plan is JSON: {"Prefix":"lab1","HostAddress":"192.168.77.1","PrefixLength":24,
    "ParentVhdPath":"D:\\base\\ws2022.vhdx","VmPath":"D:\\VMs","MemoryStartupBytes":4294967296,
    "ProcessorCount":2,"NestedVirtualization":false,"Nodes":[{"Name":"lab1-n0"},{"Name":"lab1-n1"}]}.
    Node names must start with the prefix. Steps already done are skipped. Supports -WhatIf and -Confirm.
    .PARAMETER Json
    The plan as JSON.
    .PARAMETER EncodedJson
    The plan as base64 of its UTF-8 JSON.
    .EXAMPLE
    Invoke-SwitchyardLabPlan -Json (Get-Content lab.json -Raw) -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium', DefaultParameterSetName = 'Json')]
    param(
        [Parameter(Mandatory = $true, ParameterSetName = 'Json')][string]$Json,
        [Parameter(Mandatory = $true, ParameterSetName = 'EncodedJson')][string]$EncodedJson
    )
    $plan = if ($PSCmdlet.ParameterSetName -eq 'EncodedJson') { Resolve-SwitchyardLabJson -EncodedJson $EncodedJson } else { Resolve-SwitchyardLabJson -Json $Json }
    foreach ($field in 'Prefix', 'HostAddress', 'ParentVhdPath', 'VmPath', 'Nodes') {
        if (-not $plan.PSObject.Properties[$field]) { throw "plan: $field is required" }
    }
    if ($plan.Prefix -notmatch '^[a-z0-9][a-z0-9-]{0,11}$') { throw "plan: Prefix `"$($plan.Prefix)`" must be 1-12 lowercase letters, digits or dashes" }
    $switch = "$($plan.Prefix)-sw"
    $length = if ($plan.PSObject.Properties['PrefixLength']) { [int]$plan.PrefixLength } else { 24 }
    $memory = if ($plan.PSObject.Properties['MemoryStartupBytes']) { [long]$plan.MemoryStartupBytes } else { 4294967296 }
    $cpus = if ($plan.PSObject.Properties['ProcessorCount']) { [int]$plan.ProcessorCount } else { 2 }
    $nested = $plan.PSObject.Properties['NestedVirtualization'] -and [bool]$plan.NestedVirtualization
    $i = 0
    foreach ($node in @($plan.Nodes)) {
        if (-not $node.PSObject.Properties['Name'] -or ([string]$node.Name) -notlike "$($plan.Prefix)-*") {
            throw "plan: Nodes[$i].Name must start with `"$($plan.Prefix)-`""
        }
        $i++
    }
    $common = @{ WhatIf = [bool]$WhatIfPreference; Confirm = $false }
    New-SwitchyardLabSwitch -Name $switch -HostAddress $plan.HostAddress -PrefixLength $length @common
    foreach ($node in @($plan.Nodes)) {
        New-SwitchyardLabVm -Name ([string]$node.Name) -SwitchName $switch -ParentVhdPath ([string]$plan.ParentVhdPath) -VmPath ([string]$plan.VmPath) `
            -MemoryStartupBytes $memory -ProcessorCount $cpus -NestedVirtualization:$nested @common
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
