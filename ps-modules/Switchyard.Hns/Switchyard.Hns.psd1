@{
    RootModule           = 'Switchyard.Hns.psm1'
    ModuleVersion        = '0.1.0'
    GUID                 = 'c6f0d2a4-3f7e-4b8e-9a51-2d7c1e0b5f3a'
    Author               = 'Switchyard contributors'
    CompanyName          = 'Switchyard'
    Copyright            = 'Apache-2.0'
    Description          = 'Create, query and remove Host Networking Service networks, endpoints, namespaces and load balancers through computenetwork.dll (HCN v2) and vmcompute.dll HNSCall (HNS v1). Values are passed as JSON parameters, never as script text.'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Desktop', 'Core')
    FunctionsToExport    = @(
        'Get-SwitchyardHnsVersion', 'Invoke-SwitchyardHnsV1Request', 'Invoke-SwitchyardHnsOperation',
        'Get-SwitchyardHnsNetwork', 'New-SwitchyardHnsNetwork', 'Set-SwitchyardHnsNetwork', 'Remove-SwitchyardHnsNetwork',
        'Get-SwitchyardHnsEndpoint', 'New-SwitchyardHnsEndpoint', 'Set-SwitchyardHnsEndpoint', 'Remove-SwitchyardHnsEndpoint',
        'Get-SwitchyardHnsNamespace', 'New-SwitchyardHnsNamespace', 'Set-SwitchyardHnsNamespace', 'Remove-SwitchyardHnsNamespace',
        'Add-SwitchyardHnsEndpointToNamespace', 'Remove-SwitchyardHnsEndpointFromNamespace',
        'Get-SwitchyardHnsLoadBalancer', 'New-SwitchyardHnsLoadBalancer', 'Set-SwitchyardHnsLoadBalancer', 'Remove-SwitchyardHnsLoadBalancer'
    )
    CmdletsToExport      = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('HNS', 'HCN', 'Kubernetes', 'Windows', 'Networking')
        }
    }
}
