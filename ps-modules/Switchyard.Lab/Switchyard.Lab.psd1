@{
    RootModule           = 'Switchyard.Lab.psm1'
    ModuleVersion        = '0.1.0'
    GUID                 = '0e3b6f4d-9a7c-4b21-8f5e-6d2a1c9b7e40'
    Author               = 'Switchyard contributors'
    CompanyName          = 'Switchyard'
    Copyright            = 'Apache-2.0'
    Description          = 'A Hyper-V lab for Windows Kubernetes nodes: Internal vSwitch with WinNAT, node VMs from differencing disks with MAC spoofing, static memory and optional nested virtualization.'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Desktop', 'Core')
    RequiredModules      = @()
    FunctionsToExport    = @(
        'Get-SwitchyardLab', 'Invoke-SwitchyardLabPlan', 'Remove-SwitchyardLab',
        'New-SwitchyardLabSwitch', 'Remove-SwitchyardLabSwitch',
        'New-SwitchyardLabVm', 'Remove-SwitchyardLabVm', 'Set-SwitchyardLabNodeAddress'
    )
    CmdletsToExport      = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{ PSData = @{ Tags = @('Hyper-V', 'Kubernetes', 'Windows', 'Lab') } }
}
