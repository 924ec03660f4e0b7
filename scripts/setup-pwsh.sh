#!/usr/bin/env bash
# Builds a pwsh for this machine from the Microsoft.PowerShell.SDK NuGet package (PowerShell 7.6.9's own engine
# and console host, started through the same entry point as the shipped pwsh) and puts Pester 5.7.1 in its
# $PSHOME/Modules. Output: tools/pwsh-host/out/pwsh (gitignored). The PowerShell data plane and the ps suite find
# it there, or through SWITCHYARD_PWSH / SWITCHYARD_POWERSHELL / PATH.
# Cached: when the output exists and was built from the same inputs (project files, this script, the SDK
# version), a second run does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

host_dir=tools/pwsh-host
out="$host_dir/out"
stamp="$out/.inputs.sha256"

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup-pwsh: no dotnet on PATH, so no PowerShell host; the ps suite and the real-PowerShell conformance run will skip" >&2
  exit 0
fi

inputs=$( { cat "$host_dir/PwshHost.csproj" "$host_dir/Program.cs" scripts/setup-pwsh.sh; dotnet --version; uname -m; } | sha256sum | cut -d' ' -f1)
if [ -x "$out/pwsh" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ]; then
  echo "setup-pwsh: PowerShell host up to date: $PWD/$out/pwsh"
  exit 0
fi

start=$(date +%s)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
rm -rf "$out" "$host_dir/bin" "$host_dir/obj"
if ! dotnet publish "$host_dir/PwshHost.csproj" -c Release -o "$out" -nologo -v quiet >"$host_dir/publish.log" 2>&1; then
  cat "$host_dir/publish.log" >&2
  echo "setup-pwsh: building the PowerShell host failed (log above)" >&2
  exit 1
fi
version=$("$out/pwsh" -NoLogo -NoProfile -NonInteractive -Command '$PSVersionTable.PSVersion.ToString()')
"$out/pwsh" -NoLogo -NoProfile -NonInteractive -Command 'Import-Module Pester -RequiredVersion 5.7.1 -ErrorAction Stop' \
  || { echo "setup-pwsh: the host was built but cannot import Pester" >&2; exit 1; }
echo "$inputs" >"$stamp"
rm -f "$host_dir/publish.log"
echo "setup-pwsh: built PowerShell $version host with Pester 5.7.1 in $(( $(date +%s) - start ))s: $PWD/$out/pwsh"
