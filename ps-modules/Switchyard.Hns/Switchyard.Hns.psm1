#Requires -Version 5.1
<#
    Switchyard.Hns: create, query and remove Host Networking Service objects (networks, endpoints,
    namespaces, load balancers) through computenetwork.dll (HCN v2) and vmcompute.dll!HNSCall (HNS v1).

    Documents go in and out as JSON, exactly as HNS reads and writes them (-Raw returns HNS's own text, so
    64-bit values such as InterfaceLuid are not rounded). Every value is a parameter: callers pass JSON with
    -Json, or base64 of UTF-8 JSON with -EncodedJson, never as script text. Switchyard's powershell data
    plane drives the module through Invoke-SwitchyardHnsOperation only.
#>

$ErrorActionPreference = 'Stop'

$script:EncodedPattern = '^[A-Za-z0-9+/]*={0,2}$'

# HRESULTs are unsigned here: a literal such as 0x80070490 is a negative Int32 in PowerShell and never equals
# HnsException.Code (UInt32), so the values are written as [uint32] decimals.
$script:ErrorNotFound = [uint32]2147943568          # 0x80070490 ERROR_NOT_FOUND
$script:NotFoundCodes = @(
    $script:ErrorNotFound,
    [uint32]2151350273,                              # 0x803B0001 HCN_E_NETWORK_NOT_FOUND
    [uint32]2151350274                               # 0x803B0002 HCN_E_ENDPOINT_NOT_FOUND
)

function Use-SwitchyardHnsNative {
    <#
    .SYNOPSIS
    Runs one call into the native binding and turns an HnsException into a PowerShell error record.
    .DESCRIPTION
    The record's exception is the HnsException (Code: the unsigned HRESULT, HResult: the same bits, Call: the
    HCN function, Record: HNS's error record), its FullyQualifiedErrorId is '<function>,0x<HRESULT>' and its
    category ObjectNotFound for not-found HRESULTs, InvalidOperation otherwise.
    .PARAMETER ScriptBlock
    The call.
    .PARAMETER Target
    What the call was about (an ID), for the record's TargetObject.
    .EXAMPLE
    Use-SwitchyardHnsNative -ScriptBlock { [Switchyard.Hns.HcnApi]::Delete('Network', $Id) } -Target $Id
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory = $true)][scriptblock]$ScriptBlock,
        [object]$Target
    )
    try {
        & $ScriptBlock
    } catch {
        $ex = $_.Exception
        while ($ex -and $ex.GetType().FullName -ne 'Switchyard.Hns.HnsException') { $ex = $ex.InnerException }
        if (-not $ex) { throw }
        $category = if ($script:NotFoundCodes -contains $ex.Code) { [System.Management.Automation.ErrorCategory]::ObjectNotFound } else { [System.Management.Automation.ErrorCategory]::InvalidOperation }
        $id = '{0},0x{1:X8}' -f $ex.Call, $ex.Code
        throw (New-Object System.Management.Automation.ErrorRecord -ArgumentList $ex, $id, $category, $Target)
    }
}

function Initialize-SwitchyardHnsNative {
    <#
    .SYNOPSIS
    Compiles the P/Invoke binding of computenetwork.dll and vmcompute.dll once per session.
    .DESCRIPTION
    Loads Switchyard.Hns.Native.cs (next to this module) with Add-Type unless the Switchyard.Hns.HcnApi
    type already exists in the session. Under PowerShell 7 it also installs Switchyard.Hns.Resolver.cs, which
    loads the DLLs from SWITCHYARD_HCN_LIBRARY / SWITCHYARD_VMCOMPUTE_LIBRARY when they are set.
    .EXAMPLE
    Initialize-SwitchyardHnsNative
    #>
    [CmdletBinding()]
    param()
    if (-not ('Switchyard.Hns.HcnApi' -as [type])) {
        Add-Type -Path (Join-Path -Path $PSScriptRoot -ChildPath 'Switchyard.Hns.Native.cs')
        if ($PSVersionTable.PSEdition -eq 'Core') {
            # Before the first P/Invoke: a resolver only applies to imports not yet bound.
            Add-Type -Path (Join-Path -Path $PSScriptRoot -ChildPath 'Switchyard.Hns.Resolver.cs')
            [Switchyard.Hns.NativeResolver]::Install([Switchyard.Hns.HcnApi].Assembly)
        }
    }
}

function ConvertFrom-SwitchyardEncodedJson {
    <#
    .SYNOPSIS
    Decodes base64 of UTF-8 JSON and checks that it is JSON.
    .PARAMETER EncodedJson
    Base64 of the UTF-8 bytes of a JSON document.
    .PARAMETER Name
    What the document is, for the error message.
    .EXAMPLE
    ConvertFrom-SwitchyardEncodedJson -EncodedJson 'eyJOYW1lIjoiY2JyMCJ9' -Name 'network'
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory = $true)][AllowEmptyString()][string]$EncodedJson,
        [Parameter(Mandatory = $true)][string]$Name
    )
    if ($EncodedJson -notmatch $script:EncodedPattern) {
        throw "-EncodedJson for the $Name must be base64 (A-Z, a-z, 0-9, +, /, =)"
    }
    $text = [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($EncodedJson))
    Resolve-SwitchyardHnsJson -Json $text -Name $Name
}

function Resolve-SwitchyardHnsJson {
    <#
    .SYNOPSIS
    Returns the JSON text of -Json or the decoded -EncodedJson, after checking it parses.
    .PARAMETER Json
    A JSON document.
    .PARAMETER EncodedJson
    Base64 of the UTF-8 bytes of a JSON document.
    .PARAMETER Name
    What the document is, for the error message.
    .EXAMPLE
    Resolve-SwitchyardHnsJson -Json '{"Name":"cbr0"}' -Name 'network'
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [AllowEmptyString()][string]$Json,
        [AllowEmptyString()][string]$EncodedJson,
        [Parameter(Mandatory = $true)][string]$Name
    )
    if ($PSBoundParameters.ContainsKey('EncodedJson')) {
        return ConvertFrom-SwitchyardEncodedJson -EncodedJson $EncodedJson -Name $Name
    }
    if ([string]::IsNullOrWhiteSpace($Json)) { throw "the $Name JSON is empty: pass a JSON object with -Json or -EncodedJson" }
    try {
        $null = ConvertFrom-Json -InputObject $Json
    } catch {
        throw "the $Name is not valid JSON: $($_.Exception.Message)"
    }
    $Json
}

function ConvertTo-SwitchyardHnsOutput {
    <#
    .SYNOPSIS
    Returns HNS's JSON text (-Raw) or the objects it describes.
    .PARAMETER Text
    JSON text from HNS.
    .PARAMETER Raw
    Return the text unchanged.
    .EXAMPLE
    ConvertTo-SwitchyardHnsOutput -Text '{"ID":"..."}' -Raw
    #>
    [CmdletBinding()]
    param([AllowEmptyString()][AllowNull()][string]$Text, [switch]$Raw)
    if ($Raw) { return $Text }
    if ([string]::IsNullOrEmpty($Text)) { return $null }
    ConvertFrom-Json -InputObject $Text
}

function Get-SwitchyardHnsResource {
    <#
    .SYNOPSIS
    Lists or gets HCN objects of one family (shared by the Get-SwitchyardHns* cmdlets).
    .PARAMETER Family
    Network, Endpoint, Namespace or LoadBalancer.
    .PARAMETER Id
    The object's GUID; without it every object the query matches is returned.
    .PARAMETER Query
    A HostComputeQuery JSON document ({"SchemaVersion":{...},"Flags":0,"Filter":"{...}"}).
    .EXAMPLE
    Get-SwitchyardHnsResource -Family Network -Query '{"SchemaVersion":{"Major":2,"Minor":0},"Flags":0}'
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory = $true)][ValidateSet('Network', 'Endpoint', 'Namespace', 'LoadBalancer')][string]$Family,
        [Nullable[guid]]$Id,
        [AllowEmptyString()][string]$Query
    )
    Initialize-SwitchyardHnsNative
    if ([string]::IsNullOrEmpty($Query)) { $Query = [Switchyard.Hns.HcnApi]::DefaultQuery }
    if ($null -ne $Id) {
        return Use-SwitchyardHnsNative -Target $Id -ScriptBlock { [Switchyard.Hns.HcnApi]::Query($Family, [guid]$Id, $Query) }
    }
    $list = Use-SwitchyardHnsNative -ScriptBlock { [Switchyard.Hns.HcnApi]::Enumerate($Family, $Query) }
    # HNS may answer an enumeration with no string at all (NULL) when nothing matches: an empty list.
    $ids = @()
    if (-not [string]::IsNullOrWhiteSpace($list)) { $ids = ConvertFrom-Json -InputObject $list }
    $docs = New-Object System.Collections.Generic.List[string]
    foreach ($one in @($ids)) {
        if ($null -eq $one) { continue }
        try {
            $docs.Add((Use-SwitchyardHnsNative -Target $one -ScriptBlock { [Switchyard.Hns.HcnApi]::Query($Family, [guid]$one, $Query) }))
        } catch {
            # Deleted between the enumerate and the open: not part of the answer (hcsshim skips it too).
            $hns = $_.Exception
            if (-not ($hns.GetType().FullName -eq 'Switchyard.Hns.HnsException' -and $script:NotFoundCodes -contains $hns.Code)) { throw }
        }
    }
    '[' + ($docs -join ',') + ']'
}

function Get-SwitchyardHnsNetwork {
    <#
    .SYNOPSIS
    Gets an HNS network (HostComputeNetwork), or lists networks.
    .DESCRIPTION
    With -Id, opens the network and queries its properties (HcnOpenNetwork + HcnQueryNetworkProperties). Without it,
    enumerates the networks a HostComputeQuery matches and queries each one. -Query takes the query as JSON;
    -EncodedQuery takes it as base64 of UTF-8 JSON.
    .PARAMETER Id
    The network's GUID.
    .PARAMETER Query
    HostComputeQuery JSON, e.g. {"SchemaVersion":{"Major":2,"Minor":0},"Flags":0,"Filter":"{\"Name\":\"cbr0\"}"}.
    .PARAMETER EncodedQuery
    The same query as base64 of its UTF-8 bytes.
    .PARAMETER Raw
    Return HNS's JSON text instead of objects.
    .EXAMPLE
    Get-SwitchyardHnsNetwork
    .EXAMPLE
    Get-SwitchyardHnsNetwork -Id 5a1f7d34-6a8b-4c55-9a0e-3c3f2b1d0e11 -Raw
    #>
    [CmdletBinding(DefaultParameterSetName = 'Query')]
    param(
        [Parameter(Mandatory = $true, ParameterSetName = 'Id')][guid]$Id,
        [Parameter(ParameterSetName = 'Query')][AllowEmptyString()][string]$Query,
        [Parameter(Mandatory = $true, ParameterSetName = 'EncodedQuery')][AllowEmptyString()][string]$EncodedQuery,
        [switch]$Raw
    )
    switch ($PSCmdlet.ParameterSetName) {
        'Id' { $text = Get-SwitchyardHnsResource -Family Network -Id $Id }
        'EncodedQuery' {
            $q = if ($EncodedQuery) { ConvertFrom-SwitchyardEncodedJson -EncodedJson $EncodedQuery -Name 'query' } else { '' }
            $text = Get-SwitchyardHnsResource -Family Network -Query $q
        }
        default { $text = Get-SwitchyardHnsResource -Family Network -Query $Query }
    }
    if ($Raw) { return $text }
    ConvertTo-SwitchyardHnsOutput -Text $text | ForEach-Object { $_ }
}

function New-SwitchyardHnsNetwork {
    <#
    .SYNOPSIS
    Creates an HNS network (HostComputeNetwork) from its JSON document.
    .DESCRIPTION
    Calls HcnCreateNetwork with the document as given (HCN v2 JSON; HNS also accepts v1-shaped networks and
    endpoints), then queries and returns the created network. Without -Id, HNS assigns the ID.
    Supports -WhatIf and -Confirm.
    .PARAMETER Json
    The network document as JSON.
    .PARAMETER EncodedJson
    The network document as base64 of its UTF-8 JSON.
    .PARAMETER Id
    The ID to create the network with (default: HNS assigns one).
    .PARAMETER Raw
    Return HNS's JSON text instead of an object.
    .EXAMPLE
    New-SwitchyardHnsNetwork -Json $document -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium', DefaultParameterSetName = 'Json')]
    param(
        [Parameter(Mandatory = $true, ParameterSetName = 'Json')][string]$Json,
        [Parameter(Mandatory = $true, ParameterSetName = 'EncodedJson')][string]$EncodedJson,
        [guid]$Id = [guid]::Empty,
        [switch]$Raw
    )
    $doc = if ($PSCmdlet.ParameterSetName -eq 'EncodedJson') { ConvertFrom-SwitchyardEncodedJson -EncodedJson $EncodedJson -Name 'network' } else { Resolve-SwitchyardHnsJson -Json $Json -Name 'network' }
    if ($PSCmdlet.ShouldProcess("HNS network $(if ($Id -ne [guid]::Empty) { $Id } else { '(new ID)' })", 'Create')) {
        Initialize-SwitchyardHnsNative
        $text = (Use-SwitchyardHnsNative -Target $Id -ScriptBlock { [Switchyard.Hns.HcnApi]::Create('Network', $Id, $doc, [guid]::Empty) })
        ConvertTo-SwitchyardHnsOutput -Text $text -Raw:$Raw
    }
}

function Set-SwitchyardHnsNetwork {
    <#
    .SYNOPSIS
    Modifies an HNS network (HostComputeNetwork).
    .DESCRIPTION
    Opens the network, calls HcnModifyNetwork with a ModifySettingRequest ({"ResourceType":...,"RequestType":"Add|Remove|Update","Settings":{...}}), and returns the network as HNS then reports it.
    Supports -WhatIf and -Confirm.
    .PARAMETER Id
    The network's GUID.
    .PARAMETER Json
    The request as JSON.
    .PARAMETER EncodedJson
    The request as base64 of its UTF-8 JSON.
    .PARAMETER Raw
    Return HNS's JSON text instead of an object.
    .EXAMPLE
    Set-SwitchyardHnsNetwork -Id $id -Json $request -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium', DefaultParameterSetName = 'Json')]
    param(
        [Parameter(Mandatory = $true)][guid]$Id,
        [Parameter(Mandatory = $true, ParameterSetName = 'Json')][string]$Json,
        [Parameter(Mandatory = $true, ParameterSetName = 'EncodedJson')][string]$EncodedJson,
        [switch]$Raw
    )
    $request = if ($PSCmdlet.ParameterSetName -eq 'EncodedJson') { ConvertFrom-SwitchyardEncodedJson -EncodedJson $EncodedJson -Name 'network request' } else { Resolve-SwitchyardHnsJson -Json $Json -Name 'network request' }
    if ($PSCmdlet.ShouldProcess("HNS network $Id", 'Modify')) {
        Initialize-SwitchyardHnsNative
        ConvertTo-SwitchyardHnsOutput -Text ((Use-SwitchyardHnsNative -Target $Id -ScriptBlock { [Switchyard.Hns.HcnApi]::Modify('Network', $Id, $request) })) -Raw:$Raw
    }
}

function Remove-SwitchyardHnsNetwork {
    <#
    .SYNOPSIS
    Deletes an HNS network (HostComputeNetwork).
    .DESCRIPTION
    Calls HcnDeleteNetwork. Accepts IDs from the pipeline (for example the ID property of Get-SwitchyardHnsNetwork
    output). Supports -WhatIf and -Confirm.
    .PARAMETER Id
    The network's GUID.
    .EXAMPLE
    Get-SwitchyardHnsNetwork | Remove-SwitchyardHnsNetwork -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
    param(
        [Parameter(Mandatory = $true, ValueFromPipeline = $true, ValueFromPipelineByPropertyName = $true)][guid]$Id
    )
    process {
        if ($PSCmdlet.ShouldProcess("HNS network $Id", 'Delete')) {
            Initialize-SwitchyardHnsNative
            (Use-SwitchyardHnsNative -Target $Id -ScriptBlock { [Switchyard.Hns.HcnApi]::Delete('Network', $Id) })
        }
    }
}

function Get-SwitchyardHnsEndpoint {
    <#
    .SYNOPSIS
    Gets an HNS endpoint (HostComputeEndpoint), or lists endpoints.
    .DESCRIPTION
    With -Id, opens the endpoint and queries its properties (HcnOpenEndpoint + HcnQueryEndpointProperties). Without it,
    enumerates the endpoints a HostComputeQuery matches and queries each one. -Query takes the query as JSON;
    -EncodedQuery takes it as base64 of UTF-8 JSON.
    .PARAMETER Id
    The endpoint's GUID.
    .PARAMETER Query
    HostComputeQuery JSON, e.g. {"SchemaVersion":{"Major":2,"Minor":0},"Flags":0,"Filter":"{\"Name\":\"cbr0\"}"}.
    .PARAMETER EncodedQuery
    The same query as base64 of its UTF-8 bytes.
    .PARAMETER Raw
    Return HNS's JSON text instead of objects.
    .EXAMPLE
    Get-SwitchyardHnsEndpoint
    .EXAMPLE
    Get-SwitchyardHnsEndpoint -Id 5a1f7d34-6a8b-4c55-9a0e-3c3f2b1d0e11 -Raw
    #>
    [CmdletBinding(DefaultParameterSetName = 'Query')]
    param(
        [Parameter(Mandatory = $true, ParameterSetName = 'Id')][guid]$Id,
        [Parameter(ParameterSetName = 'Query')][AllowEmptyString()][string]$Query,
        [Parameter(Mandatory = $true, ParameterSetName = 'EncodedQuery')][AllowEmptyString()][string]$EncodedQuery,
        [switch]$Raw
    )
    switch ($PSCmdlet.ParameterSetName) {
        'Id' { $text = Get-SwitchyardHnsResource -Family Endpoint -Id $Id }
        'EncodedQuery' {
            $q = if ($EncodedQuery) { ConvertFrom-SwitchyardEncodedJson -EncodedJson $EncodedQuery -Name 'query' } else { '' }
            $text = Get-SwitchyardHnsResource -Family Endpoint -Query $q
        }
        default { $text = Get-SwitchyardHnsResource -Family Endpoint -Query $Query }
    }
    if ($Raw) { return $text }
    ConvertTo-SwitchyardHnsOutput -Text $text | ForEach-Object { $_ }
}

function New-SwitchyardHnsEndpoint {
    <#
    .SYNOPSIS
    Creates an HNS endpoint (HostComputeEndpoint) from its JSON document.
    .DESCRIPTION
    Calls HcnCreateEndpoint with the document as given (HCN v2 JSON; HNS also accepts v1-shaped networks and
    endpoints), then queries and returns the created endpoint. Without -Id, HNS assigns the ID.
    Supports -WhatIf and -Confirm.
    .PARAMETER Json
    The endpoint document as JSON.
    .PARAMETER EncodedJson
    The endpoint document as base64 of its UTF-8 JSON.
    .PARAMETER Id
    The ID to create the endpoint with (default: HNS assigns one).
    .PARAMETER NetworkId
    The network the endpoint is created on (HcnCreateEndpoint takes an open network handle).
    .PARAMETER Raw
    Return HNS's JSON text instead of an object.
    .EXAMPLE
    New-SwitchyardHnsEndpoint -Json $document -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium', DefaultParameterSetName = 'Json')]
    param(
        [Parameter(Mandatory = $true, ParameterSetName = 'Json')][string]$Json,
        [Parameter(Mandatory = $true, ParameterSetName = 'EncodedJson')][string]$EncodedJson,
        [Parameter(Mandatory = $true)][guid]$NetworkId,
        [guid]$Id = [guid]::Empty,
        [switch]$Raw
    )
    $doc = if ($PSCmdlet.ParameterSetName -eq 'EncodedJson') { ConvertFrom-SwitchyardEncodedJson -EncodedJson $EncodedJson -Name 'endpoint' } else { Resolve-SwitchyardHnsJson -Json $Json -Name 'endpoint' }
    if ($PSCmdlet.ShouldProcess("HNS endpoint $(if ($Id -ne [guid]::Empty) { $Id } else { '(new ID)' })", 'Create')) {
        Initialize-SwitchyardHnsNative
        $text = (Use-SwitchyardHnsNative -Target $Id -ScriptBlock { [Switchyard.Hns.HcnApi]::Create('Endpoint', $Id, $doc, $NetworkId) })
        ConvertTo-SwitchyardHnsOutput -Text $text -Raw:$Raw
    }
}

function Set-SwitchyardHnsEndpoint {
    <#
    .SYNOPSIS
    Modifies an HNS endpoint (HostComputeEndpoint).
    .DESCRIPTION
    Opens the endpoint, calls HcnModifyEndpoint with a ModifySettingRequest ({"ResourceType":...,"RequestType":"Add|Remove|Update","Settings":{...}}), and returns the endpoint as HNS then reports it.
    Supports -WhatIf and -Confirm.
    .PARAMETER Id
    The endpoint's GUID.
    .PARAMETER Json
    The request as JSON.
    .PARAMETER EncodedJson
    The request as base64 of its UTF-8 JSON.
    .PARAMETER Raw
    Return HNS's JSON text instead of an object.
    .EXAMPLE
    Set-SwitchyardHnsEndpoint -Id $id -Json $request -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium', DefaultParameterSetName = 'Json')]
    param(
        [Parameter(Mandatory = $true)][guid]$Id,
        [Parameter(Mandatory = $true, ParameterSetName = 'Json')][string]$Json,
        [Parameter(Mandatory = $true, ParameterSetName = 'EncodedJson')][string]$EncodedJson,
        [switch]$Raw
    )
    $request = if ($PSCmdlet.ParameterSetName -eq 'EncodedJson') { ConvertFrom-SwitchyardEncodedJson -EncodedJson $EncodedJson -Name 'endpoint request' } else { Resolve-SwitchyardHnsJson -Json $Json -Name 'endpoint request' }
    if ($PSCmdlet.ShouldProcess("HNS endpoint $Id", 'Modify')) {
        Initialize-SwitchyardHnsNative
        ConvertTo-SwitchyardHnsOutput -Text ((Use-SwitchyardHnsNative -Target $Id -ScriptBlock { [Switchyard.Hns.HcnApi]::Modify('Endpoint', $Id, $request) })) -Raw:$Raw
    }
}

function Remove-SwitchyardHnsEndpoint {
    <#
    .SYNOPSIS
    Deletes an HNS endpoint (HostComputeEndpoint).
    .DESCRIPTION
    Calls HcnDeleteEndpoint. Accepts IDs from the pipeline (for example the ID property of Get-SwitchyardHnsEndpoint
    output). Supports -WhatIf and -Confirm.
    .PARAMETER Id
    The endpoint's GUID.
    .EXAMPLE
    Get-SwitchyardHnsEndpoint | Remove-SwitchyardHnsEndpoint -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
    param(
        [Parameter(Mandatory = $true, ValueFromPipeline = $true, ValueFromPipelineByPropertyName = $true)][guid]$Id
    )
    process {
        if ($PSCmdlet.ShouldProcess("HNS endpoint $Id", 'Delete')) {
            Initialize-SwitchyardHnsNative
            (Use-SwitchyardHnsNative -Target $Id -ScriptBlock { [Switchyard.Hns.HcnApi]::Delete('Endpoint', $Id) })
        }
    }
}

function Get-SwitchyardHnsNamespace {
    <#
    .SYNOPSIS
    Gets an HNS namespace (HostComputeNamespace), or lists namespaces.
    .DESCRIPTION
    With -Id, opens the namespace and queries its properties (HcnOpenNamespace + HcnQueryNamespaceProperties). Without it,
    enumerates the namespaces a HostComputeQuery matches and queries each one. -Query takes the query as JSON;
    -EncodedQuery takes it as base64 of UTF-8 JSON.
    .PARAMETER Id
    The namespace's GUID.
    .PARAMETER Query
    HostComputeQuery JSON, e.g. {"SchemaVersion":{"Major":2,"Minor":0},"Flags":0,"Filter":"{\"Name\":\"cbr0\"}"}.
    .PARAMETER EncodedQuery
    The same query as base64 of its UTF-8 bytes.
    .PARAMETER Raw
    Return HNS's JSON text instead of objects.
    .EXAMPLE
    Get-SwitchyardHnsNamespace
    .EXAMPLE
    Get-SwitchyardHnsNamespace -Id 5a1f7d34-6a8b-4c55-9a0e-3c3f2b1d0e11 -Raw
    #>
    [CmdletBinding(DefaultParameterSetName = 'Query')]
    param(
        [Parameter(Mandatory = $true, ParameterSetName = 'Id')][guid]$Id,
        [Parameter(ParameterSetName = 'Query')][AllowEmptyString()][string]$Query,
        [Parameter(Mandatory = $true, ParameterSetName = 'EncodedQuery')][AllowEmptyString()][string]$EncodedQuery,
        [switch]$Raw
    )
    switch ($PSCmdlet.ParameterSetName) {
        'Id' { $text = Get-SwitchyardHnsResource -Family Namespace -Id $Id }
        'EncodedQuery' {
            $q = if ($EncodedQuery) { ConvertFrom-SwitchyardEncodedJson -EncodedJson $EncodedQuery -Name 'query' } else { '' }
            $text = Get-SwitchyardHnsResource -Family Namespace -Query $q
        }
        default { $text = Get-SwitchyardHnsResource -Family Namespace -Query $Query }
    }
    if ($Raw) { return $text }
    ConvertTo-SwitchyardHnsOutput -Text $text | ForEach-Object { $_ }
}

function New-SwitchyardHnsNamespace {
    <#
    .SYNOPSIS
    Creates an HNS namespace (HostComputeNamespace) from its JSON document.
    .DESCRIPTION
    Calls HcnCreateNamespace with the document as given (HCN v2 JSON; HNS also accepts v1-shaped networks and
    endpoints), then queries and returns the created namespace. Without -Id, HNS assigns the ID.
    Supports -WhatIf and -Confirm.
    .PARAMETER Json
    The namespace document as JSON.
    .PARAMETER EncodedJson
    The namespace document as base64 of its UTF-8 JSON.
    .PARAMETER Id
    The ID to create the namespace with (default: HNS assigns one).
    .PARAMETER Raw
    Return HNS's JSON text instead of an object.
    .EXAMPLE
    New-SwitchyardHnsNamespace -Json $document -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium', DefaultParameterSetName = 'Json')]
    param(
        [Parameter(Mandatory = $true, ParameterSetName = 'Json')][string]$Json,
        [Parameter(Mandatory = $true, ParameterSetName = 'EncodedJson')][string]$EncodedJson,
        [guid]$Id = [guid]::Empty,
        [switch]$Raw
    )
    $doc = if ($PSCmdlet.ParameterSetName -eq 'EncodedJson') { ConvertFrom-SwitchyardEncodedJson -EncodedJson $EncodedJson -Name 'namespace' } else { Resolve-SwitchyardHnsJson -Json $Json -Name 'namespace' }
    if ($PSCmdlet.ShouldProcess("HNS namespace $(if ($Id -ne [guid]::Empty) { $Id } else { '(new ID)' })", 'Create')) {
        Initialize-SwitchyardHnsNative
        $text = (Use-SwitchyardHnsNative -Target $Id -ScriptBlock { [Switchyard.Hns.HcnApi]::Create('Namespace', $Id, $doc, [guid]::Empty) })
        ConvertTo-SwitchyardHnsOutput -Text $text -Raw:$Raw
    }
}

function Set-SwitchyardHnsNamespace {
    <#
    .SYNOPSIS
    Modifies an HNS namespace (HostComputeNamespace).
    .DESCRIPTION
    Opens the namespace, calls HcnModifyNamespace with a ModifySettingRequest ({"ResourceType":...,"RequestType":"Add|Remove|Update","Settings":{...}}), and returns the namespace as HNS then reports it.
    Supports -WhatIf and -Confirm.
    .PARAMETER Id
    The namespace's GUID.
    .PARAMETER Json
    The request as JSON.
    .PARAMETER EncodedJson
    The request as base64 of its UTF-8 JSON.
    .PARAMETER Raw
    Return HNS's JSON text instead of an object.
    .EXAMPLE
    Set-SwitchyardHnsNamespace -Id $id -Json $request -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium', DefaultParameterSetName = 'Json')]
    param(
        [Parameter(Mandatory = $true)][guid]$Id,
        [Parameter(Mandatory = $true, ParameterSetName = 'Json')][string]$Json,
        [Parameter(Mandatory = $true, ParameterSetName = 'EncodedJson')][string]$EncodedJson,
        [switch]$Raw
    )
    $request = if ($PSCmdlet.ParameterSetName -eq 'EncodedJson') { ConvertFrom-SwitchyardEncodedJson -EncodedJson $EncodedJson -Name 'namespace request' } else { Resolve-SwitchyardHnsJson -Json $Json -Name 'namespace request' }
    if ($PSCmdlet.ShouldProcess("HNS namespace $Id", 'Modify')) {
        Initialize-SwitchyardHnsNative
        ConvertTo-SwitchyardHnsOutput -Text ((Use-SwitchyardHnsNative -Target $Id -ScriptBlock { [Switchyard.Hns.HcnApi]::Modify('Namespace', $Id, $request) })) -Raw:$Raw
    }
}

function Remove-SwitchyardHnsNamespace {
    <#
    .SYNOPSIS
    Deletes an HNS namespace (HostComputeNamespace).
    .DESCRIPTION
    Calls HcnDeleteNamespace. Accepts IDs from the pipeline (for example the ID property of Get-SwitchyardHnsNamespace
    output). Supports -WhatIf and -Confirm.
    .PARAMETER Id
    The namespace's GUID.
    .EXAMPLE
    Get-SwitchyardHnsNamespace | Remove-SwitchyardHnsNamespace -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
    param(
        [Parameter(Mandatory = $true, ValueFromPipeline = $true, ValueFromPipelineByPropertyName = $true)][guid]$Id
    )
    process {
        if ($PSCmdlet.ShouldProcess("HNS namespace $Id", 'Delete')) {
            Initialize-SwitchyardHnsNative
            (Use-SwitchyardHnsNative -Target $Id -ScriptBlock { [Switchyard.Hns.HcnApi]::Delete('Namespace', $Id) })
        }
    }
}

function Get-SwitchyardHnsLoadBalancer {
    <#
    .SYNOPSIS
    Gets an HNS load balancer (HostComputeLoadBalancer), or lists load balancers.
    .DESCRIPTION
    With -Id, opens the load balancer and queries its properties (HcnOpenLoadBalancer + HcnQueryLoadBalancerProperties). Without it,
    enumerates the load balancers a HostComputeQuery matches and queries each one. -Query takes the query as JSON;
    -EncodedQuery takes it as base64 of UTF-8 JSON.
    .PARAMETER Id
    The load balancer's GUID.
    .PARAMETER Query
    HostComputeQuery JSON, e.g. {"SchemaVersion":{"Major":2,"Minor":0},"Flags":0,"Filter":"{\"Name\":\"cbr0\"}"}.
    .PARAMETER EncodedQuery
    The same query as base64 of its UTF-8 bytes.
    .PARAMETER Raw
    Return HNS's JSON text instead of objects.
    .EXAMPLE
    Get-SwitchyardHnsLoadBalancer
    .EXAMPLE
    Get-SwitchyardHnsLoadBalancer -Id 5a1f7d34-6a8b-4c55-9a0e-3c3f2b1d0e11 -Raw
    #>
    [CmdletBinding(DefaultParameterSetName = 'Query')]
    param(
        [Parameter(Mandatory = $true, ParameterSetName = 'Id')][guid]$Id,
        [Parameter(ParameterSetName = 'Query')][AllowEmptyString()][string]$Query,
        [Parameter(Mandatory = $true, ParameterSetName = 'EncodedQuery')][AllowEmptyString()][string]$EncodedQuery,
        [switch]$Raw
    )
    switch ($PSCmdlet.ParameterSetName) {
        'Id' { $text = Get-SwitchyardHnsResource -Family LoadBalancer -Id $Id }
        'EncodedQuery' {
            $q = if ($EncodedQuery) { ConvertFrom-SwitchyardEncodedJson -EncodedJson $EncodedQuery -Name 'query' } else { '' }
            $text = Get-SwitchyardHnsResource -Family LoadBalancer -Query $q
        }
        default { $text = Get-SwitchyardHnsResource -Family LoadBalancer -Query $Query }
    }
    if ($Raw) { return $text }
    ConvertTo-SwitchyardHnsOutput -Text $text | ForEach-Object { $_ }
}

function New-SwitchyardHnsLoadBalancer {
    <#
    .SYNOPSIS
    Creates an HNS load balancer (HostComputeLoadBalancer) from its JSON document.
    .DESCRIPTION
    Calls HcnCreateLoadBalancer with the document as given (HCN v2 JSON; HNS also accepts v1-shaped networks and
    endpoints), then queries and returns the created load balancer. Without -Id, HNS assigns the ID.
    Supports -WhatIf and -Confirm.
    .PARAMETER Json
    The load balancer document as JSON.
    .PARAMETER EncodedJson
    The load balancer document as base64 of its UTF-8 JSON.
    .PARAMETER Id
    The ID to create the load balancer with (default: HNS assigns one).
    .PARAMETER Raw
    Return HNS's JSON text instead of an object.
    .EXAMPLE
    New-SwitchyardHnsLoadBalancer -Json $document -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium', DefaultParameterSetName = 'Json')]
    param(
        [Parameter(Mandatory = $true, ParameterSetName = 'Json')][string]$Json,
        [Parameter(Mandatory = $true, ParameterSetName = 'EncodedJson')][string]$EncodedJson,
        [guid]$Id = [guid]::Empty,
        [switch]$Raw
    )
    $doc = if ($PSCmdlet.ParameterSetName -eq 'EncodedJson') { ConvertFrom-SwitchyardEncodedJson -EncodedJson $EncodedJson -Name 'load balancer' } else { Resolve-SwitchyardHnsJson -Json $Json -Name 'load balancer' }
    if ($PSCmdlet.ShouldProcess("HNS load balancer $(if ($Id -ne [guid]::Empty) { $Id } else { '(new ID)' })", 'Create')) {
        Initialize-SwitchyardHnsNative
        $text = (Use-SwitchyardHnsNative -Target $Id -ScriptBlock { [Switchyard.Hns.HcnApi]::Create('LoadBalancer', $Id, $doc, [guid]::Empty) })
        ConvertTo-SwitchyardHnsOutput -Text $text -Raw:$Raw
    }
}

function Set-SwitchyardHnsLoadBalancer {
    <#
    .SYNOPSIS
    Modifies an HNS load balancer (HostComputeLoadBalancer).
    .DESCRIPTION
    Opens the load balancer, calls HcnModifyLoadBalancer with the whole load balancer document (HNS 15.4 and later), and returns the load balancer as HNS then reports it.
    Supports -WhatIf and -Confirm.
    .PARAMETER Id
    The load balancer's GUID.
    .PARAMETER Json
    The request as JSON.
    .PARAMETER EncodedJson
    The request as base64 of its UTF-8 JSON.
    .PARAMETER Raw
    Return HNS's JSON text instead of an object.
    .EXAMPLE
    Set-SwitchyardHnsLoadBalancer -Id $id -Json $request -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium', DefaultParameterSetName = 'Json')]
    param(
        [Parameter(Mandatory = $true)][guid]$Id,
        [Parameter(Mandatory = $true, ParameterSetName = 'Json')][string]$Json,
        [Parameter(Mandatory = $true, ParameterSetName = 'EncodedJson')][string]$EncodedJson,
        [switch]$Raw
    )
    $request = if ($PSCmdlet.ParameterSetName -eq 'EncodedJson') { ConvertFrom-SwitchyardEncodedJson -EncodedJson $EncodedJson -Name 'load balancer request' } else { Resolve-SwitchyardHnsJson -Json $Json -Name 'load balancer request' }
    if ($PSCmdlet.ShouldProcess("HNS load balancer $Id", 'Modify')) {
        Initialize-SwitchyardHnsNative
        ConvertTo-SwitchyardHnsOutput -Text ((Use-SwitchyardHnsNative -Target $Id -ScriptBlock { [Switchyard.Hns.HcnApi]::Modify('LoadBalancer', $Id, $request) })) -Raw:$Raw
    }
}

function Remove-SwitchyardHnsLoadBalancer {
    <#
    .SYNOPSIS
    Deletes an HNS load balancer (HostComputeLoadBalancer).
    .DESCRIPTION
    Calls HcnDeleteLoadBalancer. Accepts IDs from the pipeline (for example the ID property of Get-SwitchyardHnsLoadBalancer
    output). Supports -WhatIf and -Confirm.
    .PARAMETER Id
    The load balancer's GUID.
    .EXAMPLE
    Get-SwitchyardHnsLoadBalancer | Remove-SwitchyardHnsLoadBalancer -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
    param(
        [Parameter(Mandatory = $true, ValueFromPipeline = $true, ValueFromPipelineByPropertyName = $true)][guid]$Id
    )
    process {
        if ($PSCmdlet.ShouldProcess("HNS load balancer $Id", 'Delete')) {
            Initialize-SwitchyardHnsNative
            (Use-SwitchyardHnsNative -Target $Id -ScriptBlock { [Switchyard.Hns.HcnApi]::Delete('LoadBalancer', $Id) })
        }
    }
}

function Add-SwitchyardHnsEndpointToNamespace {
    <#
    .SYNOPSIS
    Attaches an HNS endpoint to a namespace.
    .DESCRIPTION
    Sends {"ResourceType":"Endpoint","RequestType":"Add","Settings":{"EndpointId":...}} to HcnModifyNamespace,
    the v2 replacement for the v1 /endpoints/<id>/attach call. Supports -WhatIf and -Confirm.
    .PARAMETER NamespaceId
    The namespace's GUID.
    .PARAMETER EndpointId
    The endpoint's GUID.
    .PARAMETER Raw
    Return HNS's JSON text of the namespace instead of an object.
    .EXAMPLE
    Add-SwitchyardHnsEndpointToNamespace -NamespaceId $ns -EndpointId $ep -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
    param(
        [Parameter(Mandatory = $true)][guid]$NamespaceId,
        [Parameter(Mandatory = $true)][guid]$EndpointId,
        [switch]$Raw
    )
    $request = ConvertTo-Json -Compress -InputObject ([ordered]@{ ResourceType = 'Endpoint'; RequestType = 'Add'; Settings = [ordered]@{ EndpointId = $EndpointId.ToString() } })
    if ($PSCmdlet.ShouldProcess("HNS namespace $NamespaceId", "Attach endpoint $EndpointId")) {
        Initialize-SwitchyardHnsNative
        ConvertTo-SwitchyardHnsOutput -Text ((Use-SwitchyardHnsNative -Target $NamespaceId -ScriptBlock { [Switchyard.Hns.HcnApi]::Modify('Namespace', $NamespaceId, $request) })) -Raw:$Raw
    }
}

function Remove-SwitchyardHnsEndpointFromNamespace {
    <#
    .SYNOPSIS
    Detaches an HNS endpoint from a namespace.
    .DESCRIPTION
    Sends {"ResourceType":"Endpoint","RequestType":"Remove","Settings":{"EndpointId":...}} to HcnModifyNamespace.
    Supports -WhatIf and -Confirm.
    .PARAMETER NamespaceId
    The namespace's GUID.
    .PARAMETER EndpointId
    The endpoint's GUID.
    .PARAMETER Raw
    Return HNS's JSON text of the namespace instead of an object.
    .EXAMPLE
    Remove-SwitchyardHnsEndpointFromNamespace -NamespaceId $ns -EndpointId $ep -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
    param(
        [Parameter(Mandatory = $true)][guid]$NamespaceId,
        [Parameter(Mandatory = $true)][guid]$EndpointId,
        [switch]$Raw
    )
    $request = ConvertTo-Json -Compress -InputObject ([ordered]@{ ResourceType = 'Endpoint'; RequestType = 'Remove'; Settings = [ordered]@{ EndpointId = $EndpointId.ToString() } })
    if ($PSCmdlet.ShouldProcess("HNS namespace $NamespaceId", "Detach endpoint $EndpointId")) {
        Initialize-SwitchyardHnsNative
        ConvertTo-SwitchyardHnsOutput -Text ((Use-SwitchyardHnsNative -Target $NamespaceId -ScriptBlock { [Switchyard.Hns.HcnApi]::Modify('Namespace', $NamespaceId, $request) })) -Raw:$Raw
    }
}

function Invoke-SwitchyardHnsV1Request {
    <#
    .SYNOPSIS
    Sends an HNS v1 request (vmcompute.dll!HNSCall) and returns its Output.
    .DESCRIPTION
    HNS v1 is REST-like: GET /networks/, POST /endpoints/, DELETE /policylists/<id>, GET /globals/version.
    The response envelope {Success, Error, Output} is checked; Success:false becomes an error naming the call.
    With -Raw the whole envelope text is returned unchanged. POST and DELETE support -WhatIf and -Confirm.
    .PARAMETER Method
    GET, POST or DELETE.
    .PARAMETER Path
    The HNS path, e.g. /networks/ or /endpoints/<id>/attach.
    .PARAMETER Json
    The request body as JSON.
    .PARAMETER EncodedJson
    The request body as base64 of its UTF-8 JSON.
    .PARAMETER Raw
    Return the response envelope text.
    .EXAMPLE
    Invoke-SwitchyardHnsV1Request -Method GET -Path /globals/version
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium', DefaultParameterSetName = 'Json')]
    param(
        [Parameter(Mandatory = $true)][ValidateSet('GET', 'POST', 'DELETE')][string]$Method,
        [Parameter(Mandatory = $true)][ValidatePattern('^/[A-Za-z0-9/{}\-]*$')][string]$Path,
        [Parameter(ParameterSetName = 'Json')][AllowEmptyString()][string]$Json = '',
        [Parameter(Mandatory = $true, ParameterSetName = 'EncodedJson')][AllowEmptyString()][string]$EncodedJson,
        [switch]$Raw
    )
    $body = $Json
    if ($PSCmdlet.ParameterSetName -eq 'EncodedJson' -and $EncodedJson) { $body = ConvertFrom-SwitchyardEncodedJson -EncodedJson $EncodedJson -Name 'request' }
    if ($Method -ne 'GET' -and -not $PSCmdlet.ShouldProcess("HNS $Path", $Method)) { return }
    Initialize-SwitchyardHnsNative
    $text = (Use-SwitchyardHnsNative -Target $Path -ScriptBlock { [Switchyard.Hns.HcnApi]::HnsCall($Method, $Path, $body) })
    if ($Raw) { return $text }
    $envelope = ConvertFrom-Json -InputObject $text
    if (-not $envelope.Success) { throw "HNSCall $Method $Path failed: hns failed with error : $($envelope.Error)" }
    $envelope.Output
}

function Get-SwitchyardHnsVersion {
    <#
    .SYNOPSIS
    Gets the Host Networking Service version (GET /globals/version).
    .DESCRIPTION
    The HNS service version (for example 15.4) decides which policies the host supports; it is not the
    schema version and is not derived from the Windows build. Fails on builds older than 1803.
    .PARAMETER Raw
    Return {"Major":N,"Minor":M} as JSON text.
    .EXAMPLE
    Get-SwitchyardHnsVersion
    #>
    [CmdletBinding()]
    param([switch]$Raw)
    $output = Invoke-SwitchyardHnsV1Request -Method GET -Path '/globals/version'
    if ($Raw) { return ConvertTo-Json -Compress -InputObject ([ordered]@{ Major = [int]$output.Major; Minor = [int]$output.Minor }) }
    $output
}

function ConvertTo-SwitchyardAsciiJson {
    <#
    .SYNOPSIS
    Escapes every non-ASCII character of a JSON text as \uXXXX.
    .DESCRIPTION
    Windows PowerShell writes stdout in the console's OEM code page, which would mangle non-ASCII names on
    the way to Switchyard. Outside strings JSON is ASCII already, and inside strings \uXXXX is the same
    character, so the document means exactly the same thing.
    .PARAMETER Text
    The JSON text.
    .EXAMPLE
    ConvertTo-SwitchyardAsciiJson -Text '{"Name":"réseau"}'
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param([Parameter(Mandatory = $true)][AllowEmptyString()][string]$Text)
    $builder = New-Object System.Text.StringBuilder ($Text.Length)
    foreach ($c in $Text.ToCharArray()) {
        if ([int]$c -gt 0x7e) { $null = $builder.AppendFormat('\u{0:x4}', [int]$c) } else { $null = $builder.Append($c) }
    }
    $builder.ToString()
}

$script:Operations = @(
    'GetVersion', 'V1Request', 'ModifyContainerNetwork',
    'ListNetworks', 'GetNetwork', 'NewNetwork', 'SetNetwork', 'RemoveNetwork',
    'ListEndpoints', 'GetEndpoint', 'NewEndpoint', 'SetEndpoint', 'RemoveEndpoint',
    'ListNamespaces', 'GetNamespace', 'NewNamespace', 'SetNamespace', 'RemoveNamespace',
    'ListLoadBalancers', 'GetLoadBalancer', 'NewLoadBalancer', 'SetLoadBalancer', 'RemoveLoadBalancer',
    'ListHostRoutes', 'NewHostRoute', 'RemoveHostRoute'
)

function Get-SwitchyardHostRouteArgs {
    <#
    .SYNOPSIS
    Turns a host route from the data plane's payload into Get-NetRoute/New-NetRoute parameters.
    .DESCRIPTION
    The route ({"destinationPrefix","nextHop","interfaceAlias"} JSON text) becomes a parameter hashtable to
    splat, so its values reach NetTCPIP as data and never as script text.
    .PARAMETER Json
    The route as JSON text.
    .EXAMPLE
    Get-SwitchyardHostRouteArgs -Json '{"destinationPrefix":"10.244.3.0/24","nextHop":"192.168.1.24"}'
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param([Parameter(Mandatory = $true)][string]$Json)
    $r = ConvertFrom-Json -InputObject $Json
    $a = @{ AddressFamily = 'IPv4'; DestinationPrefix = [string]$r.destinationPrefix; NextHop = [string]$r.nextHop }
    if ($r.interfaceAlias) { $a.InterfaceAlias = [string]$r.interfaceAlias }
    $a
}

function Invoke-SwitchyardHnsOperation {
    <#
    .SYNOPSIS
    Runs one data-plane operation for Switchyard and writes a single-line JSON result envelope.
    .DESCRIPTION
    The entry point of Switchyard's powershell data plane. The operation name comes from a fixed set and
    every value (IDs, documents, queries) arrives inside -EncodedJson, base64 of a UTF-8 JSON object whose
    string fields Id, NetworkId, ContainerId, Settings (JSON text), Request (JSON text), Query (JSON text), Method and Path
    are passed on as parameters, never as script text. Output: {"Success":true,"Output":<HNS JSON>} or
    {"Success":false,"Error":"...","ErrorCode":<HRESULT>,"Call":"...","Record":"..."}, on one line, with
    non-ASCII characters escaped so the console code page cannot alter them. State-changing operations
    honour -WhatIf.
    .PARAMETER Operation
    Which operation to run.
    .PARAMETER EncodedJson
    Base64 of the UTF-8 JSON payload.
    .EXAMPLE
    Invoke-SwitchyardHnsOperation -Operation 'ListNetworks' -EncodedJson 'e30='
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
    [OutputType([string])]
    param(
        [Parameter(Mandatory = $true)][ValidateScript({ $script:Operations -contains $_ })][string]$Operation,
        [Parameter(Mandatory = $true)][AllowEmptyString()][ValidatePattern('^[A-Za-z0-9+/]*={0,2}$')][string]$EncodedJson
    )
    try {
        $text = if ($EncodedJson) { ConvertFrom-SwitchyardEncodedJson -EncodedJson $EncodedJson -Name 'operation payload' } else { '{}' }
        $p = ConvertFrom-Json -InputObject $text
        $field = { param($name) $prop = $p.PSObject.Properties[$name]; if ($prop) { [string]$prop.Value } else { '' } }
        $change = @{ Raw = $true; Confirm = $false; WhatIf = [bool]$WhatIfPreference }
        # -Confirm on the entry point itself asks once for any operation that changes state (the cmdlets below
        # are told -Confirm:$false); -WhatIf is forwarded so each cmdlet reports what it would do.
        $changes = $Operation -match '^(New|Set|Remove|Modify)' -or ($Operation -eq 'V1Request' -and (& $field 'Method') -ne 'GET')
        if ($changes -and -not $WhatIfPreference -and -not $PSCmdlet.ShouldProcess("HNS ($Operation)", $Operation)) {
            throw "$Operation was not confirmed"
        }
        $requestedId = & $field 'Id'
        $newId = if ($requestedId) { [guid]$requestedId } else { [guid]::Empty }
        $out = switch ($Operation) {
            'GetVersion' { Get-SwitchyardHnsVersion -Raw }
            'ModifyContainerNetwork' {
                if (-not $WhatIfPreference) {
                    [Switchyard.Hns.HcnApi]::ModifyContainerNetwork((& $field 'ContainerId'), (& $field 'Id'), (& $field 'Request'))
                }
                'null'
            }
            'V1Request' { Invoke-SwitchyardHnsV1Request -Method (& $field 'Method') -Path (& $field 'Path') -Json (& $field 'Request') -Raw -Confirm:$false -WhatIf:([bool]$WhatIfPreference) }
            'ListNetworks' { Get-SwitchyardHnsNetwork -Query (& $field 'Query') -Raw }
            'GetNetwork' { Get-SwitchyardHnsNetwork -Id (& $field 'Id') -Raw }
            'NewNetwork' { New-SwitchyardHnsNetwork -Id $newId -Json (& $field 'Settings') @change }
            'SetNetwork' { Set-SwitchyardHnsNetwork -Id (& $field 'Id') -Json (& $field 'Request') @change }
            'RemoveNetwork' { Remove-SwitchyardHnsNetwork -Id (& $field 'Id') -Confirm:$false -WhatIf:([bool]$WhatIfPreference) }
            'ListEndpoints' { Get-SwitchyardHnsEndpoint -Query (& $field 'Query') -Raw }
            'GetEndpoint' { Get-SwitchyardHnsEndpoint -Id (& $field 'Id') -Raw }
            'NewEndpoint' { New-SwitchyardHnsEndpoint -Id $newId -NetworkId (& $field 'NetworkId') -Json (& $field 'Settings') @change }
            'SetEndpoint' { Set-SwitchyardHnsEndpoint -Id (& $field 'Id') -Json (& $field 'Request') @change }
            'RemoveEndpoint' { Remove-SwitchyardHnsEndpoint -Id (& $field 'Id') -Confirm:$false -WhatIf:([bool]$WhatIfPreference) }
            'ListNamespaces' { Get-SwitchyardHnsNamespace -Query (& $field 'Query') -Raw }
            'GetNamespace' { Get-SwitchyardHnsNamespace -Id (& $field 'Id') -Raw }
            'NewNamespace' { New-SwitchyardHnsNamespace -Id $newId -Json (& $field 'Settings') @change }
            'SetNamespace' { Set-SwitchyardHnsNamespace -Id (& $field 'Id') -Json (& $field 'Request') @change }
            'RemoveNamespace' { Remove-SwitchyardHnsNamespace -Id (& $field 'Id') -Confirm:$false -WhatIf:([bool]$WhatIfPreference) }
            'ListLoadBalancers' { Get-SwitchyardHnsLoadBalancer -Query (& $field 'Query') -Raw }
            'GetLoadBalancer' { Get-SwitchyardHnsLoadBalancer -Id (& $field 'Id') -Raw }
            'NewLoadBalancer' { New-SwitchyardHnsLoadBalancer -Id $newId -Json (& $field 'Settings') @change }
            'SetLoadBalancer' { Set-SwitchyardHnsLoadBalancer -Id (& $field 'Id') -Json (& $field 'Settings') @change }
            'RemoveLoadBalancer' { Remove-SwitchyardHnsLoadBalancer -Id (& $field 'Id') -Confirm:$false -WhatIf:([bool]$WhatIfPreference) }
            'ListHostRoutes' {
                $rows = @(Get-NetRoute -AddressFamily IPv4 -ErrorAction Stop | Where-Object { $_.NextHop -ne '0.0.0.0' } | ForEach-Object {
                        [ordered]@{ destinationPrefix = [string]$_.DestinationPrefix; nextHop = [string]$_.NextHop; interfaceAlias = [string]$_.InterfaceAlias; metric = [int]$_.RouteMetric }
                    })
                ConvertTo-Json -Compress -Depth 3 -InputObject $rows
            }
            'NewHostRoute' {
                $a = Get-SwitchyardHostRouteArgs -Json (& $field 'Settings')
                if (Get-NetRoute @a -ErrorAction SilentlyContinue) {
                    throw [Switchyard.Hns.HnsException]::new('New-NetRoute', [uint32]0x80071392, "route $($a.DestinationPrefix) via $($a.NextHop) already exists")
                }
                $metric = (ConvertFrom-Json -InputObject (& $field 'Settings')).metric
                $new = @{} + $a
                $new.Remove('AddressFamily')
                if ($null -ne $metric) { $new.RouteMetric = [int]$metric }
                if (-not $new.ContainsKey('InterfaceAlias')) { $new.InterfaceIndex = (Find-NetRoute -RemoteIPAddress $a.NextHop -ErrorAction Stop | Select-Object -First 1).InterfaceIndex }
                if (-not $WhatIfPreference) { $null = New-NetRoute @new -Confirm:$false -ErrorAction Stop }
                'null'
            }
            'RemoveHostRoute' {
                $a = Get-SwitchyardHostRouteArgs -Json (& $field 'Settings')
                $found = @(Get-NetRoute @a -ErrorAction SilentlyContinue)
                if ($found.Count -eq 0) {
                    throw [Switchyard.Hns.HnsException]::new('Remove-NetRoute', [uint32]0x80070490, "no route $($a.DestinationPrefix) via $($a.NextHop)")
                }
                if (-not $WhatIfPreference) { $found | Remove-NetRoute -Confirm:$false -ErrorAction Stop }
                'null'
            }
        }
        $output = if ($null -eq $out -or "$out" -eq '') { 'null' } else { [string]$out }
        ConvertTo-SwitchyardAsciiJson -Text ('{"Success":true,"Output":' + $output + '}')
    } catch {
        $ex = $_.Exception
        while ($ex.InnerException -and $ex.GetType().FullName -ne 'Switchyard.Hns.HnsException') { $ex = $ex.InnerException }
        $result = [ordered]@{ Success = $false; Error = $ex.Message; ErrorCode = [uint32]2147500037; Call = $Operation; Record = $null }
        if ($ex.GetType().FullName -eq 'Switchyard.Hns.HnsException') {
            $result.ErrorCode = [uint32]$ex.Code
            $result.Call = $ex.Call
            $result.Record = $ex.Record
        }
        ConvertTo-SwitchyardAsciiJson -Text (ConvertTo-Json -Compress -InputObject $result)
    }
}

Export-ModuleMember -Function @(
    'Get-SwitchyardHnsVersion', 'Invoke-SwitchyardHnsV1Request', 'Invoke-SwitchyardHnsOperation',
    'Get-SwitchyardHnsNetwork', 'New-SwitchyardHnsNetwork', 'Set-SwitchyardHnsNetwork', 'Remove-SwitchyardHnsNetwork',
    'Get-SwitchyardHnsEndpoint', 'New-SwitchyardHnsEndpoint', 'Set-SwitchyardHnsEndpoint', 'Remove-SwitchyardHnsEndpoint',
    'Get-SwitchyardHnsNamespace', 'New-SwitchyardHnsNamespace', 'Set-SwitchyardHnsNamespace', 'Remove-SwitchyardHnsNamespace',
    'Add-SwitchyardHnsEndpointToNamespace', 'Remove-SwitchyardHnsEndpointFromNamespace',
    'Get-SwitchyardHnsLoadBalancer', 'New-SwitchyardHnsLoadBalancer', 'Set-SwitchyardHnsLoadBalancer', 'Remove-SwitchyardHnsLoadBalancer'
)
