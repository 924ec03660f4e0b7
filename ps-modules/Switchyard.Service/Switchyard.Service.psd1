@{
    RootModule           = 'Switchyard.Service.psm1'
    ModuleVersion        = '0.1.0'
    GUID                 = '5b0e7c3e-8d2f-4a61-9f4b-1c7a2e9d6b10'
    Author               = 'Switchyard contributors'
    CompanyName          = 'Switchyard'
    Copyright            = 'Apache-2.0'
    Description          = 'Install, remove, start, stop and query the Switchyard node agent service. Each cmdlet runs the switchyard CLI (`switchyard service ...`) with its arguments passed as an array, never as command text.'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Desktop', 'Core')
    FunctionsToExport    = @(
        'Install-SwitchyardService', 'Uninstall-SwitchyardService', 'Start-SwitchyardService', 'Stop-SwitchyardService', 'Get-SwitchyardService'
    )
    CmdletsToExport      = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags = @('Kubernetes', 'Windows', 'Service', 'Networking')
        }
    }
}
