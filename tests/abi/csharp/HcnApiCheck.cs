// Drives the PowerShell module's P/Invoke binding (ps-modules/Switchyard.Hns/Switchyard.Hns.Native.cs) against
// the stub library under Mono, with computenetwork.dll, vmcompute.dll and ole32.dll mapped to
// libhcnstub.so (dllmap). Prints one line per check; exit status 0 when all pass. C# 5, like the module.
using System;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Switchyard.Hns;

public static class HcnApiCheck
{
    [DllImport("computenetwork.dll")] static extern long HcnStubOutstandingAllocations();
    [DllImport("computenetwork.dll")] static extern int HcnStubOpenHandles();
    [DllImport("computenetwork.dll")] static extern long HcnStubBadFrees();

    static int failures;

    static void Check(bool ok, string what)
    {
        Console.WriteLine((ok ? "ok   " : "FAIL ") + what);
        if (!ok) failures++;
    }

    static uint Fails(Action action)
    {
        try { action(); }
        catch (HnsException e) { return e.Code; }
        return 0;
    }

    static Guid IdOf(string doc)
    {
        // The object's own ID is its last "ID" member in the stub's documents.
        MatchCollection m = Regex.Matches(doc, "\"ID\":\"([0-9A-Fa-f-]{36})\"");
        return new Guid(m[m.Count - 1].Groups[1].Value);
    }

    public static int Main()
    {
        string name = "r\u00e9seau-\u7f51\u7edc-\ud83d\ude80";
        string net = HcnApi.Create("Network", Guid.Empty, "{\"Name\":\"" + name + "\",\"Type\":\"L2Bridge\"}", Guid.Empty);
        Check(net.Contains(name), "create network: UTF-16 name round trip");
        Guid netId = IdOf(net);
        Check(HcnApi.Query("Network", netId, null).Contains(name), "query network by GUID (ref Guid)");

        string ids = HcnApi.Enumerate("Network", "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Flags\":0,\"Filter\":\"{\\\"Name\\\":\\\"" + name + "\\\"}\"}");
        Check(ids.ToUpperInvariant().Contains(netId.ToString().ToUpperInvariant()), "enumerate with a Name filter");

        string add = "{\"ResourceType\":\"Policy\",\"RequestType\":\"Add\",\"Settings\":{\"Policies\":[{\"Type\":\"HostRoute\",\"Settings\":{}}]}}";
        Check(HcnApi.Modify("Network", netId, add).Contains("HostRoute"), "modify network: add a policy");
        Check(Fails(delegate { HcnApi.Modify("Network", netId, add); }) == 0x803B0012u, "duplicate policy: HCN_E_POLICY_ALREADY_EXISTS");

        string ep = HcnApi.Create("Endpoint", Guid.Empty, "{\"Name\":\"ep\",\"IpConfigurations\":[{\"IpAddress\":\"10.0.0.5\"}]}", netId);
        Guid epId = IdOf(ep);
        Check(ep.ToUpperInvariant().Contains(netId.ToString().ToUpperInvariant()), "create endpoint through an open network handle");
        Check(Fails(delegate { HcnApi.Delete("Network", netId); }) == 0x803B002Cu, "network with an endpoint: HCN_E_ENTITY_HAS_REFERENCES");

        string ns = HcnApi.Create("Namespace", Guid.Empty, "{\"Type\":\"Host\"}", Guid.Empty);
        Guid nsId = IdOf(ns);
        string attach = "{\"ResourceType\":\"Endpoint\",\"RequestType\":\"Add\",\"Settings\":{\"EndpointId\":\"" + epId + "\"}}";
        Check(HcnApi.Modify("Namespace", nsId, attach).ToUpperInvariant().Contains(epId.ToString().ToUpperInvariant()), "attach endpoint to namespace");

        HcnApi.Delete("Namespace", nsId);
        HcnApi.Delete("Endpoint", epId);
        HcnApi.Delete("Network", netId);
        Check(Fails(delegate { HcnApi.Query("Network", netId, null); }) == 0x80070490u, "query after delete: ERROR_NOT_FOUND");

        HnsException rec = null;
        try { HcnApi.Create("Network", Guid.Empty, "{not json", Guid.Empty); } catch (HnsException e) { rec = e; }
        Check(rec != null && rec.Code == 0x803B001Bu && rec.Record.Contains("\"ErrorCode\":2151350299"), "invalid JSON: HRESULT and error record");

        string version = HcnApi.HnsCall("GET", "/globals/version", "");
        Check(version.Contains("\"Success\":true") && version.Contains("\"Major\":"), "HNSCall GET /globals/version envelope");
        Check(Fails(delegate { HcnApi.HnsCall("POST", "/networks/", "{bad"); }) == 0x803B001Bu, "HNSCall HRESULT failure");

        Check(HcnStubOutstandingAllocations() == 0, "every string freed with CoTaskMemFree");
        Check(HcnStubBadFrees() == 0, "no bad frees");
        Check(HcnStubOpenHandles() == 0, "every handle closed");
        Console.WriteLine(failures == 0 ? "all checks passed" : failures + " check(s) failed");
        return failures == 0 ? 0 : 1;
    }
}
