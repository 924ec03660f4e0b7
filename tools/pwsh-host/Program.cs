// The entry point of the shipped pwsh (PowerShell's src/powershell/Program.cs) hands its arguments to the
// console host; this host does the same, so -NoLogo -NoExit -Command - (how node-powershell starts a
// session), -File, -NonInteractive and the rest behave as in pwsh.
namespace Switchyard.PwshHost;

public static class Program
{
    public static int Main(string[] args) =>
        Microsoft.PowerShell.UnmanagedPSEntry.Start(args, args.Length);
}
