// P/Invoke binding of computenetwork.dll (HCN v2) and vmcompute.dll!HNSCall (HNS v1) for the Switchyard.Hns
// PowerShell module. Same ABI rules as the Node binding (../shared/reference/hcn-api.md §1): GUIDs by
// reference, UTF-16 strings, every returned string and error record freed with CoTaskMemFree, an error record
// returned with S_OK treated as a failure, handles closed in finally. C# 5 syntax so Windows PowerShell 5.1
// (Add-Type with the .NET Framework compiler) can build it.
using System;
using System.Runtime.InteropServices;

namespace Switchyard.Hns
{
    public class HnsException : Exception
    {
        public readonly string Call;
        public readonly uint Code;
        public readonly string Record;

        public HnsException(string call, uint code, string record)
            : base(string.Format("{0} failed (0x{1:X8}){2}", call, code, string.IsNullOrEmpty(record) ? "" : ": " + record))
        {
            Call = call;
            Code = code;
            Record = record;
            HResult = unchecked((int)code); // so $_.Exception.HResult reads the HRESULT too
        }
    }

    internal static class Native
    {
        private const string Hcn = "computenetwork.dll";

        [DllImport("ole32.dll")] public static extern void CoTaskMemFree(IntPtr p);
        [DllImport("vmcompute.dll", CharSet = CharSet.Unicode)]
        public static extern int HNSCall(string method, string path, string request, out IntPtr response);
        // HCS compute systems (vmcompute.dll): the apiVersion-1 container network hot-add/remove.
        [DllImport("vmcompute.dll", CharSet = CharSet.Unicode)]
        public static extern int HcsOpenComputeSystem(string id, out IntPtr computeSystem, out IntPtr result);
        [DllImport("vmcompute.dll", CharSet = CharSet.Unicode)]
        public static extern int HcsModifyComputeSystem(IntPtr computeSystem, string configuration, out IntPtr result);
        [DllImport("vmcompute.dll")]
        public static extern int HcsCloseComputeSystem(IntPtr computeSystem);

        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnEnumerateNetworks(string query, out IntPtr result, out IntPtr record);
        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnCreateNetwork(ref Guid id, string settings, out IntPtr handle, out IntPtr record);
        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnOpenNetwork(ref Guid id, out IntPtr handle, out IntPtr record);
        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnModifyNetwork(IntPtr handle, string settings, out IntPtr record);
        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnQueryNetworkProperties(IntPtr handle, string query, out IntPtr properties, out IntPtr record);
        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnDeleteNetwork(ref Guid id, out IntPtr record);
        [DllImport(Hcn)] public static extern int HcnCloseNetwork(IntPtr handle);

        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnEnumerateEndpoints(string query, out IntPtr result, out IntPtr record);
        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnCreateEndpoint(IntPtr network, ref Guid id, string settings, out IntPtr handle, out IntPtr record);
        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnOpenEndpoint(ref Guid id, out IntPtr handle, out IntPtr record);
        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnModifyEndpoint(IntPtr handle, string settings, out IntPtr record);
        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnQueryEndpointProperties(IntPtr handle, string query, out IntPtr properties, out IntPtr record);
        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnDeleteEndpoint(ref Guid id, out IntPtr record);
        [DllImport(Hcn)] public static extern int HcnCloseEndpoint(IntPtr handle);

        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnEnumerateNamespaces(string query, out IntPtr result, out IntPtr record);
        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnCreateNamespace(ref Guid id, string settings, out IntPtr handle, out IntPtr record);
        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnOpenNamespace(ref Guid id, out IntPtr handle, out IntPtr record);
        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnModifyNamespace(IntPtr handle, string settings, out IntPtr record);
        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnQueryNamespaceProperties(IntPtr handle, string query, out IntPtr properties, out IntPtr record);
        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnDeleteNamespace(ref Guid id, out IntPtr record);
        [DllImport(Hcn)] public static extern int HcnCloseNamespace(IntPtr handle);

        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnEnumerateLoadBalancers(string query, out IntPtr result, out IntPtr record);
        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnCreateLoadBalancer(ref Guid id, string settings, out IntPtr handle, out IntPtr record);
        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnOpenLoadBalancer(ref Guid id, out IntPtr handle, out IntPtr record);
        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnModifyLoadBalancer(IntPtr handle, string settings, out IntPtr record);
        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnQueryLoadBalancerProperties(IntPtr handle, string query, out IntPtr properties, out IntPtr record);
        [DllImport(Hcn, CharSet = CharSet.Unicode)] public static extern int HcnDeleteLoadBalancer(ref Guid id, out IntPtr record);
        [DllImport(Hcn)] public static extern int HcnCloseLoadBalancer(IntPtr handle);
    }

    public static class HcnApi
    {
        public const string DefaultQuery = "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Flags\":0}";

        private static string Take(IntPtr p)
        {
            if (p == IntPtr.Zero) return null;
            try { return Marshal.PtrToStringUni(p); }
            finally { Native.CoTaskMemFree(p); }
        }

        // hcsshim checkForErrors: a failed HRESULT, or any error record (even with S_OK), is a failure.
        private static void Check(string call, int hr, IntPtr recordPtr)
        {
            string record = Take(recordPtr);
            if (hr >= 0 && string.IsNullOrEmpty(record)) return;
            uint code = hr < 0 ? unchecked((uint)hr) : 0x8007001Fu; // ERROR_GEN_FAILURE, as hcsshim reports S_OK + record
            throw new HnsException(call, code, record);
        }

        private static string Plural(string family) { return family == "LoadBalancer" ? "LoadBalancers" : family + "s"; }

        public static string Enumerate(string family, string query)
        {
            IntPtr result, record;
            int hr;
            switch (family)
            {
                case "Network": hr = Native.HcnEnumerateNetworks(query, out result, out record); break;
                case "Endpoint": hr = Native.HcnEnumerateEndpoints(query, out result, out record); break;
                case "Namespace": hr = Native.HcnEnumerateNamespaces(query, out result, out record); break;
                case "LoadBalancer": hr = Native.HcnEnumerateLoadBalancers(query, out result, out record); break;
                default: throw new ArgumentException("unknown HCN family " + family);
            }
            string text = Take(result);
            Check("HcnEnumerate" + Plural(family), hr, record);
            return text;
        }

        private static IntPtr Open(string family, Guid id)
        {
            IntPtr handle, record;
            int hr;
            switch (family)
            {
                case "Network": hr = Native.HcnOpenNetwork(ref id, out handle, out record); break;
                case "Endpoint": hr = Native.HcnOpenEndpoint(ref id, out handle, out record); break;
                case "Namespace": hr = Native.HcnOpenNamespace(ref id, out handle, out record); break;
                case "LoadBalancer": hr = Native.HcnOpenLoadBalancer(ref id, out handle, out record); break;
                default: throw new ArgumentException("unknown HCN family " + family);
            }
            try { Check("HcnOpen" + family, hr, record); }
            catch { if (handle != IntPtr.Zero) Close(family, handle); throw; }
            return handle;
        }

        private static void Close(string family, IntPtr handle)
        {
            switch (family)
            {
                case "Network": Native.HcnCloseNetwork(handle); break;
                case "Endpoint": Native.HcnCloseEndpoint(handle); break;
                case "Namespace": Native.HcnCloseNamespace(handle); break;
                case "LoadBalancer": Native.HcnCloseLoadBalancer(handle); break;
            }
        }

        private static string QueryHandle(string family, IntPtr handle, string query)
        {
            IntPtr props, record;
            int hr;
            switch (family)
            {
                case "Network": hr = Native.HcnQueryNetworkProperties(handle, query, out props, out record); break;
                case "Endpoint": hr = Native.HcnQueryEndpointProperties(handle, query, out props, out record); break;
                case "Namespace": hr = Native.HcnQueryNamespaceProperties(handle, query, out props, out record); break;
                case "LoadBalancer": hr = Native.HcnQueryLoadBalancerProperties(handle, query, out props, out record); break;
                default: throw new ArgumentException("unknown HCN family " + family);
            }
            string text = Take(props);
            Check("HcnQuery" + family + "Properties", hr, record);
            return text;
        }

        public static string Query(string family, Guid id, string query)
        {
            IntPtr handle = Open(family, id);
            try { return QueryHandle(family, handle, string.IsNullOrEmpty(query) ? DefaultQuery : query); }
            finally { Close(family, handle); }
        }

        /// <summary>Create with the given ID (Guid.Empty: HNS assigns one), then query and close. network: endpoints only.</summary>
        public static string Create(string family, Guid id, string settings, Guid network)
        {
            IntPtr handle = IntPtr.Zero, record;
            int hr;
            switch (family)
            {
                case "Network": hr = Native.HcnCreateNetwork(ref id, settings, out handle, out record); break;
                case "Namespace": hr = Native.HcnCreateNamespace(ref id, settings, out handle, out record); break;
                case "LoadBalancer": hr = Native.HcnCreateLoadBalancer(ref id, settings, out handle, out record); break;
                case "Endpoint":
                    {
                        IntPtr net = Open("Network", network);
                        try { hr = Native.HcnCreateEndpoint(net, ref id, settings, out handle, out record); }
                        finally { Close("Network", net); }
                        break;
                    }
                default: throw new ArgumentException("unknown HCN family " + family);
            }
            try
            {
                Check("HcnCreate" + family, hr, record);
                return QueryHandle(family, handle, DefaultQuery);
            }
            finally { if (handle != IntPtr.Zero) Close(family, handle); }
        }

        public static string Modify(string family, Guid id, string request)
        {
            IntPtr handle = Open(family, id);
            try
            {
                IntPtr record;
                int hr;
                switch (family)
                {
                    case "Network": hr = Native.HcnModifyNetwork(handle, request, out record); break;
                    case "Endpoint": hr = Native.HcnModifyEndpoint(handle, request, out record); break;
                    case "Namespace": hr = Native.HcnModifyNamespace(handle, request, out record); break;
                    case "LoadBalancer": hr = Native.HcnModifyLoadBalancer(handle, request, out record); break;
                    default: throw new ArgumentException("unknown HCN family " + family);
                }
                Check("HcnModify" + family, hr, record);
                return QueryHandle(family, handle, DefaultQuery);
            }
            finally { Close(family, handle); }
        }

        public static void Delete(string family, Guid id)
        {
            IntPtr record;
            int hr;
            switch (family)
            {
                case "Network": hr = Native.HcnDeleteNetwork(ref id, out record); break;
                case "Endpoint": hr = Native.HcnDeleteEndpoint(ref id, out record); break;
                case "Namespace": hr = Native.HcnDeleteNamespace(ref id, out record); break;
                case "LoadBalancer": hr = Native.HcnDeleteLoadBalancer(ref id, out record); break;
                default: throw new ArgumentException("unknown HCN family " + family);
            }
            Check("HcnDelete" + family, hr, record);
        }

        /// <summary>
        /// hcsshim HotAttachEndpoint/HotDetachEndpoint: HcsModifyComputeSystem on the container's compute system with
        /// {"ResourceType":"Network","RequestType":"Add"|"Remove","Settings":"endpoint id"}; the result document is freed.
        /// </summary>
        public static void ModifyContainerNetwork(string containerId, string endpointId, string requestType)
        {
            if (requestType != "Add" && requestType != "Remove") throw new ArgumentException("RequestType must be Add or Remove");
            IntPtr system, result;
            int hr = Native.HcsOpenComputeSystem(containerId, out system, out result);
            string text = Take(result);
            if (hr < 0) throw new HnsException("HcsOpenComputeSystem", unchecked((uint)hr), text);
            try
            {
                string request = "{\"ResourceType\":\"Network\",\"RequestType\":\"" + requestType + "\",\"Settings\":\"" + Guid.Parse(endpointId).ToString() + "\"}";
                hr = Native.HcsModifyComputeSystem(system, request, out result);
                text = Take(result);
                if (hr < 0) throw new HnsException("HcsModifyComputeSystem", unchecked((uint)hr), text);
            }
            finally { Native.HcsCloseComputeSystem(system); }
        }

        /// <summary>vmcompute.dll!HNSCall; returns the response envelope {Success, Error, Output} as HNS wrote it.</summary>
        public static string HnsCall(string method, string path, string request)
        {
            IntPtr response;
            int hr = Native.HNSCall(method, path, request ?? "", out response);
            string text = Take(response);
            if (hr < 0) throw new HnsException("HNSCall " + method + " " + path, unchecked((uint)hr), text);
            return text;
        }
    }
}
