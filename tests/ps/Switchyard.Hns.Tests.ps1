#Requires -Version 7.0
# Pester 5 tests of ps-modules/Switchyard.Hns under real PowerShell, against native/build/libhcnstub.so (loaded as
# computenetwork.dll through SWITCHYARD_HCN_LIBRARY, which tests/ps/pester.test.ts sets for this process).

BeforeDiscovery {
    # Every exported cmdlet: its parameters (name:type, ! = mandatory in some set), ShouldProcess, ConfirmImpact.
    $script:Contract = [ordered]@{
        'Add-SwitchyardHnsEndpointToNamespace'      = @{ Params = 'NamespaceId:Guid! EndpointId:Guid! Raw:SwitchParameter'; ShouldProcess = $true; ConfirmImpact = 'Medium' }
        'Get-SwitchyardHnsEndpoint'                 = @{ Params = 'Id:Guid! Query:String EncodedQuery:String! Raw:SwitchParameter'; ShouldProcess = $false; ConfirmImpact = 'None' }
        'Get-SwitchyardHnsLoadBalancer'             = @{ Params = 'Id:Guid! Query:String EncodedQuery:String! Raw:SwitchParameter'; ShouldProcess = $false; ConfirmImpact = 'None' }
        'Get-SwitchyardHnsNamespace'                = @{ Params = 'Id:Guid! Query:String EncodedQuery:String! Raw:SwitchParameter'; ShouldProcess = $false; ConfirmImpact = 'None' }
        'Get-SwitchyardHnsNetwork'                  = @{ Params = 'Id:Guid! Query:String EncodedQuery:String! Raw:SwitchParameter'; ShouldProcess = $false; ConfirmImpact = 'None' }
        'Get-SwitchyardHnsVersion'                  = @{ Params = 'Raw:SwitchParameter'; ShouldProcess = $false; ConfirmImpact = 'None' }
        'Invoke-SwitchyardHnsOperation'             = @{ Params = 'Operation:String! EncodedJson:String!'; ShouldProcess = $true; ConfirmImpact = 'Medium' }
        'Invoke-SwitchyardHnsV1Request'             = @{ Params = 'Method:String! Path:String! Json:String EncodedJson:String! Raw:SwitchParameter'; ShouldProcess = $true; ConfirmImpact = 'Medium' }
        'New-SwitchyardHnsEndpoint'                 = @{ Params = 'Json:String! EncodedJson:String! NetworkId:Guid! Id:Guid Raw:SwitchParameter'; ShouldProcess = $true; ConfirmImpact = 'Medium' }
        'New-SwitchyardHnsLoadBalancer'             = @{ Params = 'Json:String! EncodedJson:String! Id:Guid Raw:SwitchParameter'; ShouldProcess = $true; ConfirmImpact = 'Medium' }
        'New-SwitchyardHnsNamespace'                = @{ Params = 'Json:String! EncodedJson:String! Id:Guid Raw:SwitchParameter'; ShouldProcess = $true; ConfirmImpact = 'Medium' }
        'New-SwitchyardHnsNetwork'                  = @{ Params = 'Json:String! EncodedJson:String! Id:Guid Raw:SwitchParameter'; ShouldProcess = $true; ConfirmImpact = 'Medium' }
        'Remove-SwitchyardHnsEndpoint'              = @{ Params = 'Id:Guid!'; ShouldProcess = $true; ConfirmImpact = 'High' }
        'Remove-SwitchyardHnsEndpointFromNamespace' = @{ Params = 'NamespaceId:Guid! EndpointId:Guid! Raw:SwitchParameter'; ShouldProcess = $true; ConfirmImpact = 'Medium' }
        'Remove-SwitchyardHnsLoadBalancer'          = @{ Params = 'Id:Guid!'; ShouldProcess = $true; ConfirmImpact = 'High' }
        'Remove-SwitchyardHnsNamespace'             = @{ Params = 'Id:Guid!'; ShouldProcess = $true; ConfirmImpact = 'High' }
        'Remove-SwitchyardHnsNetwork'               = @{ Params = 'Id:Guid!'; ShouldProcess = $true; ConfirmImpact = 'High' }
        'Set-SwitchyardHnsEndpoint'                 = @{ Params = 'Id:Guid! Json:String! EncodedJson:String! Raw:SwitchParameter'; ShouldProcess = $true; ConfirmImpact = 'Medium' }
        'Set-SwitchyardHnsLoadBalancer'             = @{ Params = 'Id:Guid! Json:String! EncodedJson:String! Raw:SwitchParameter'; ShouldProcess = $true; ConfirmImpact = 'Medium' }
        'Set-SwitchyardHnsNamespace'                = @{ Params = 'Id:Guid! Json:String! EncodedJson:String! Raw:SwitchParameter'; ShouldProcess = $true; ConfirmImpact = 'Medium' }
        'Set-SwitchyardHnsNetwork'                  = @{ Params = 'Id:Guid! Json:String! EncodedJson:String! Raw:SwitchParameter'; ShouldProcess = $true; ConfirmImpact = 'Medium' }
    }
    $script:Cases = foreach ($name in $script:Contract.Keys) { @{ Name = $name; Expected = $script:Contract[$name] } }
    $script:Changing = $script:Cases | Where-Object { $_.Expected.ShouldProcess }
}

BeforeAll {
    $script:Manifest = Join-Path $PSScriptRoot '../../ps-modules/Switchyard.Hns/Switchyard.Hns.psd1'
    $script:Module = Import-Module $script:Manifest -Force -PassThru
    $script:L2Bridge = '{"Name":"pester-net","Type":"L2Bridge","SchemaVersion":{"Major":2,"Minor":0},"Ipams":[{"Type":"Static","Subnets":[{"IpAddressPrefix":"10.50.0.0/24","Routes":[{"NextHop":"10.50.0.1","DestinationPrefix":"0.0.0.0/0"}]}]}]}'
    function script:Get-State {
        # Everything the stub holds, as HNS's own JSON text.
        ((Get-SwitchyardHnsNetwork -Raw), (Get-SwitchyardHnsEndpoint -Raw), (Get-SwitchyardHnsNamespace -Raw), (Get-SwitchyardHnsLoadBalancer -Raw)) -join "`n"
    }
    function script:Format-ParamList($command) {
        $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
        $list = foreach ($p in $command.Parameters.Values) {
            if ($common -contains $p.Name) { continue }
            $mandatory = @($p.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.Mandatory }).Count -gt 0
            '{0}:{1}{2}' -f $p.Name, $p.ParameterType.Name, $(if ($mandatory) { '!' } else { '' })
        }
        $list -join ' '
    }
}

AfterAll {
    Remove-Module Switchyard.Hns -Force -ErrorAction SilentlyContinue
}

Describe 'Switchyard.Hns manifest' -ForEach @(@{ Names = @($script:Contract.Keys) }) {
    It 'passes Test-ModuleManifest and exports exactly the cmdlets of the contract' {
        $info = Test-ModuleManifest -Path $script:Manifest -ErrorAction Stop
        $info.Name | Should -Be 'Switchyard.Hns'
        $info.CompatiblePSEditions | Should -Be @('Desktop', 'Core')
        @($info.ExportedFunctions.Keys | Sort-Object) | Should -Be @($Names | Sort-Object)
        @($script:Module.ExportedFunctions.Keys | Sort-Object) | Should -Be @($Names | Sort-Object)
    }
}

Describe 'Switchyard.Hns cmdlet <Name>' -ForEach $script:Cases {
    BeforeAll {
        $command = Get-Command -Module Switchyard.Hns -Name $Name
        $help = Get-Help -Name $Name -Full
    }
    It 'has exactly the documented parameters, types and mandatory flags' {
        Format-ParamList $command | Should -Be $Expected.Params
    }
    It 'declares ShouldProcess and ConfirmImpact as the contract says' {
        $binding = $command.ScriptBlock.Attributes | Where-Object { $_ -is [System.Management.Automation.CmdletBindingAttribute] }
        [bool]$binding.SupportsShouldProcess | Should -Be $Expected.ShouldProcess
        $command.Parameters.ContainsKey('WhatIf') | Should -Be $Expected.ShouldProcess
        $command.Parameters.ContainsKey('Confirm') | Should -Be $Expected.ShouldProcess
        if ($Expected.ShouldProcess) { "$($binding.ConfirmImpact)" | Should -Be $Expected.ConfirmImpact }
    }
    It 'has help: a synopsis, a description of every parameter and an example' {
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match "^\s*$([regex]::Escape($Name))\s"   # not the generated syntax line
        @($help.Examples.Example).Count | Should -BeGreaterThan 0
        $help.Examples.Example[0].Code | Should -Match $Name.Split('-')[0]
        $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
        foreach ($p in $command.Parameters.Keys | Where-Object { $common -notcontains $_ }) {
            $doc = $help.Parameters.Parameter | Where-Object Name -EQ $p
            ($doc.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty -Because "-$p is documented"
        }
    }
}

Describe 'Switchyard.Hns against the stub library' {
    BeforeAll {
        function script:Clear-Stub {
            foreach ($lb in Get-SwitchyardHnsLoadBalancer) { Remove-SwitchyardHnsLoadBalancer -Id $lb.ID -Confirm:$false }
            foreach ($ep in Get-SwitchyardHnsEndpoint) { Remove-SwitchyardHnsEndpoint -Id $ep.ID -Confirm:$false }
            foreach ($ns in Get-SwitchyardHnsNamespace) { Remove-SwitchyardHnsNamespace -Id $ns.ID -Confirm:$false }
            foreach ($n in Get-SwitchyardHnsNetwork) { Remove-SwitchyardHnsNetwork -Id $n.ID -Confirm:$false }
        }
    }

    It 'creates, reads, modifies and deletes through the P/Invoke binding' {
        Clear-Stub
        $net = New-SwitchyardHnsNetwork -Json $script:L2Bridge -Confirm:$false
        $net.Name | Should -Be 'pester-net'
        (Get-SwitchyardHnsNetwork -Id $net.ID).ID | Should -Be $net.ID
        $ep = New-SwitchyardHnsEndpoint -NetworkId $net.ID -Json '{"Name":"pester-ep","SchemaVersion":{"Major":2,"Minor":0},"IpConfigurations":[{"IpAddress":"10.50.0.5","PrefixLength":24}]}' -Confirm:$false
        $ns = New-SwitchyardHnsNamespace -Json '{"Type":"Host","SchemaVersion":{"Major":2,"Minor":0}}' -Confirm:$false
        Add-SwitchyardHnsEndpointToNamespace -NamespaceId $ns.ID -EndpointId $ep.ID -Confirm:$false | Out-Null
        (Get-SwitchyardHnsNamespace -Id $ns.ID -Raw) | Should -Match $ep.ID
        Remove-SwitchyardHnsEndpointFromNamespace -NamespaceId $ns.ID -EndpointId $ep.ID -Confirm:$false | Out-Null
        { Get-SwitchyardHnsNetwork | Remove-SwitchyardHnsNetwork -Confirm:$false } | Should -Throw -ErrorId 'HcnDeleteNetwork,0x803B002C'   # the endpoint holds it
        (Get-SwitchyardHnsNetwork -Id $net.ID).ID | Should -Be $net.ID
        Remove-SwitchyardHnsEndpoint -Id $ep.ID -Confirm:$false
        Remove-SwitchyardHnsNamespace -Id $ns.ID -Confirm:$false
        Get-SwitchyardHnsNetwork | Remove-SwitchyardHnsNetwork -Confirm:$false   # by pipeline, ID property
        Get-SwitchyardHnsNetwork | Should -BeNullOrEmpty
    }

    Context '-WhatIf and -Confirm on <Name>' -ForEach $script:Changing {
        BeforeAll {
            Clear-Stub
            $net = New-SwitchyardHnsNetwork -Json $script:L2Bridge -Confirm:$false
            $ep = New-SwitchyardHnsEndpoint -NetworkId $net.ID -Json '{"Name":"w","SchemaVersion":{"Major":2,"Minor":0}}' -Confirm:$false
            $ns = New-SwitchyardHnsNamespace -Json '{"Type":"Host","SchemaVersion":{"Major":2,"Minor":0}}' -Confirm:$false
            $lb = New-SwitchyardHnsLoadBalancer -Json ('{"SchemaVersion":{"Major":2,"Minor":0},"HostComputeEndpoints":["' + $ep.ID + '"],"FrontendVIPs":["10.96.0.1"],"PortMappings":[{"Protocol":6,"InternalPort":80,"ExternalPort":80}]}') -Confirm:$false
            $arguments = switch -Regex ($Name) {
                '^New-SwitchyardHnsNetwork$' { @{ Json = $script:L2Bridge.Replace('pester-net', 'whatif') } }
                '^New-SwitchyardHnsEndpoint$' { @{ NetworkId = $net.ID; Json = '{"Name":"whatif","SchemaVersion":{"Major":2,"Minor":0}}' } }
                '^New-SwitchyardHnsNamespace$' { @{ Json = '{"Type":"Host","SchemaVersion":{"Major":2,"Minor":0}}' } }
                '^New-SwitchyardHnsLoadBalancer$' { @{ Json = '{"SchemaVersion":{"Major":2,"Minor":0},"FrontendVIPs":["10.96.0.2"]}' } }
                '^Set-SwitchyardHnsNetwork$' { @{ Id = $net.ID; Json = '{"ResourceType":"Policy","RequestType":"Add","Settings":{"Policies":[{"Type":"RemoteSubnetRoute","Settings":{"DestinationPrefix":"10.51.0.0/24","IsolationId":4096,"ProviderAddress":"192.168.1.2","DistributedRouterMacAddress":"00-15-5D-00-00-01"}}]}}' } }
                '^Set-SwitchyardHnsEndpoint$' { @{ Id = $ep.ID; Json = '{"ResourceType":"Policy","RequestType":"Add","Settings":{"Policies":[{"Type":"OutBoundNAT","Settings":{"Exceptions":["10.0.0.0/8"]}}]}}' } }
                '^Set-SwitchyardHnsNamespace$' { @{ Id = $ns.ID; Json = ('{"ResourceType":"Endpoint","RequestType":"Add","Settings":{"EndpointId":"' + $ep.ID + '"}}') } }
                '^Set-SwitchyardHnsLoadBalancer$' { @{ Id = $lb.ID; Json = '{"SchemaVersion":{"Major":2,"Minor":0},"FrontendVIPs":["10.96.0.9"]}' } }
                '^Remove-SwitchyardHnsNetwork$' { @{ Id = $net.ID } }
                '^Remove-SwitchyardHnsEndpoint$' { @{ Id = $ep.ID } }
                '^Remove-SwitchyardHnsNamespace$' { @{ Id = $ns.ID } }
                '^Remove-SwitchyardHnsLoadBalancer$' { @{ Id = $lb.ID } }
                '^Add-SwitchyardHnsEndpointToNamespace$' { @{ NamespaceId = $ns.ID; EndpointId = $ep.ID } }
                '^Remove-SwitchyardHnsEndpointFromNamespace$' { @{ NamespaceId = $ns.ID; EndpointId = $ep.ID } }
                '^Invoke-SwitchyardHnsV1Request$' { @{ Method = 'DELETE'; Path = "/networks/$($net.ID)" } }
                '^Invoke-SwitchyardHnsOperation$' { @{ Operation = 'RemoveNetwork'; EncodedJson = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes((@{ Id = "$($net.ID)" } | ConvertTo-Json -Compress))) } }
            }
        }
        It 'changes nothing and makes no native call with -WhatIf' {
            $before = Get-State
            Mock -ModuleName Switchyard.Hns Use-SwitchyardHnsNative { throw 'a native call was made under -WhatIf' } -ParameterFilter { "$ScriptBlock" -notmatch '::(Query|Enumerate)\(' }
            & $Name @arguments -WhatIf | Out-Null
            Should -Invoke -ModuleName Switchyard.Hns Use-SwitchyardHnsNative -Times 0 -Exactly -ParameterFilter { "$ScriptBlock" -notmatch '::(Query|Enumerate)\(' }
            Get-State | Should -Be $before
        }
        It 'asks before acting with -Confirm, and a session that cannot answer changes nothing' {
            $before = Get-State
            if ($Name -eq 'Invoke-SwitchyardHnsOperation') {
                # The data plane's entry point always answers with an envelope, here a refusal.
                $envelope = & $Name @arguments -Confirm | ConvertFrom-Json
                $envelope.Success | Should -BeFalse
                $envelope.Error | Should -Match 'NonInteractive|prompt'
            } else {
                { & $Name @arguments -Confirm -ErrorAction Stop | Out-Null } | Should -Throw '*NonInteractive*'
            }
            Get-State | Should -Be $before
        }
    }

    It 'reports a failure as an error record carrying the HRESULT, the HCN call and the object' {
        $missing = [guid]'6f1c1a49-2a6e-4a0e-9f57-3f0e7c2c9d11'
        $err = { Get-SwitchyardHnsNetwork -Id $missing } | Should -Throw -ErrorId 'HcnOpenNetwork,0x80070490' -PassThru
        $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err.TargetObject | Should -Be $missing
        $err.Exception.GetType().FullName | Should -Be 'Switchyard.Hns.HnsException'
        $err.Exception.Code | Should -Be ([uint32]2147943568)
        $err.Exception.HResult | Should -Be ([int]-2147023728)
        $err.Exception.Call | Should -Be 'HcnOpenNetwork'
        ($err.Exception.Record | ConvertFrom-Json).Error | Should -Match 'Element not found'

        $bad = { New-SwitchyardHnsNetwork -Json '{"Name":"x","Type":"Bogus","SchemaVersion":{"Major":2,"Minor":0}}' -Confirm:$false } | Should -Throw -ErrorId 'HcnCreateNetwork,0x803B000B' -PassThru
        $bad.CategoryInfo.Category | Should -Be 'InvalidOperation'
    }

    It 'writes a failure envelope with the unsigned HRESULT for the data plane' {
        $payload = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes('{"Id":"6f1c1a49-2a6e-4a0e-9f57-3f0e7c2c9d11"}'))
        $envelope = Invoke-SwitchyardHnsOperation -Operation GetNetwork -EncodedJson $payload | ConvertFrom-Json
        $envelope.Success | Should -BeFalse
        $envelope.ErrorCode | Should -Be 2147943568
        $envelope.Call | Should -Be 'HcnOpenNetwork'
    }

    It 'refuses JSON that does not parse before any native call, naming the document' {
        { New-SwitchyardHnsNetwork -Json '{"Name":' -Confirm:$false } | Should -Throw '*network is not valid JSON*'
        { New-SwitchyardHnsNetwork -EncodedJson 'not base64!' -Confirm:$false } | Should -Throw '*must be base64*'
    }
}

Describe 'Switchyard.Hns enumeration (hcsshim semantics)' {
    BeforeAll {
        & $script:Module { Initialize-SwitchyardHnsNative }
        $gone = '0e6f3f1d-8a7c-4c43-9a4b-2f7e3c1d0a01'
        $kept = '0e6f3f1d-8a7c-4c43-9a4b-2f7e3c1d0a02'
    }

    It 'answers a NULL enumeration result with an empty list' {
        Mock -ModuleName Switchyard.Hns Use-SwitchyardHnsNative { $null } -ParameterFilter { "$ScriptBlock" -match '::Enumerate\(' }
        Get-SwitchyardHnsNetwork -Raw | Should -Be '[]'
        Get-SwitchyardHnsEndpoint | Should -BeNullOrEmpty
    }

    It 'skips an object deleted between the enumeration and its query (ERROR_NOT_FOUND compared unsigned)' {
        Mock -ModuleName Switchyard.Hns Use-SwitchyardHnsNative { "[`"$gone`",`"$kept`"]" } -ParameterFilter { "$ScriptBlock" -match '::Enumerate\(' }
        Mock -ModuleName Switchyard.Hns Use-SwitchyardHnsNative {
            if ("$Target" -eq $gone) {
                $ex = New-Object Switchyard.Hns.HnsException -ArgumentList 'HcnOpenNetwork', ([uint32]2147943568), ''
                throw (New-Object System.Management.Automation.ErrorRecord -ArgumentList $ex, 'HcnOpenNetwork,0x80070490', 'ObjectNotFound', $Target)
            }
            "{`"ID`":`"$Target`",`"Name`":`"kept`"}"
        } -ParameterFilter { "$ScriptBlock" -match '::Query\(' }
        $list = Get-SwitchyardHnsNetwork
        @($list).Count | Should -Be 1
        $list.ID | Should -Be $kept
    }

    It 'does not skip other failures of that query' {
        Mock -ModuleName Switchyard.Hns Use-SwitchyardHnsNative { "[`"$gone`"]" } -ParameterFilter { "$ScriptBlock" -match '::Enumerate\(' }
        Mock -ModuleName Switchyard.Hns Use-SwitchyardHnsNative {
            $ex = New-Object Switchyard.Hns.HnsException -ArgumentList 'HcnOpenNetwork', ([uint32]2147942405), ''   # 0x80070005 E_ACCESSDENIED
            throw (New-Object System.Management.Automation.ErrorRecord -ArgumentList $ex, 'HcnOpenNetwork,0x80070005', 'InvalidOperation', $Target)
        } -ParameterFilter { "$ScriptBlock" -match '::Query\(' }
        { Get-SwitchyardHnsNetwork } | Should -Throw -ErrorId 'HcnOpenNetwork,0x80070005'
    }
}
