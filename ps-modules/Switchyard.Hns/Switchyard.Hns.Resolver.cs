// PowerShell 7 (.NET) only: where the binding's DllImport names (computenetwork.dll, vmcompute.dll, ole32.dll)
// are loaded from. SWITCHYARD_HCN_LIBRARY / SWITCHYARD_VMCOMPUTE_LIBRARY name other files, as they do for the
// Node binding (on Linux: native/build/libhcnstub.so, which also exports CoTaskMemFree); unset, .NET's own
// probing applies (System32 on Windows). Windows PowerShell 5.1 has no NativeLibrary, so this file is compiled
// only under PowerShell 7.
using System;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Switchyard.Hns
{
    public static class NativeResolver
    {
        private static bool installed;

        public static void Install(Assembly binding)
        {
            if (installed) return;
            NativeLibrary.SetDllImportResolver(binding, Resolve);
            installed = true;
        }

        public static string PathFor(string name)
        {
            string hcn = Environment.GetEnvironmentVariable("SWITCHYARD_HCN_LIBRARY");
            string vmcompute = Environment.GetEnvironmentVariable("SWITCHYARD_VMCOMPUTE_LIBRARY");
            switch (name.ToLowerInvariant())
            {
                case "computenetwork.dll": return string.IsNullOrEmpty(hcn) ? null : hcn;
                case "vmcompute.dll": return !string.IsNullOrEmpty(vmcompute) ? vmcompute : (string.IsNullOrEmpty(hcn) || OperatingSystem.IsWindows() ? null : hcn);
                case "ole32.dll": return string.IsNullOrEmpty(hcn) || OperatingSystem.IsWindows() ? null : hcn;
                default: return null;
            }
        }

        private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
        {
            string file = PathFor(name);
            return file == null ? IntPtr.Zero : NativeLibrary.Load(file);
        }
    }
}
