#!/usr/bin/env bash
# Installs what Switchyard needs on a fresh Debian machine: the kernel tools the linux data plane and its
# tests drive (iproute2, nftables), the peers its tests and benchmarks compare against (Debian's reference
# CNI plugins, iperf3, tcpdump), gcc/make for the stub HCN library, mono-mcs to compile and run the
# PowerShell module's C# P/Invoke binding against that stub, etcd (the agent's etcd subnet source is tested
# against a real server), mingw-w64 and wine64 (the Windows .exe entrypoints are built and run here), then the
# npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
need=()
for pkg in iproute2 nftables iperf3 tcpdump containernetworking-plugins gcc make util-linux iputils-ping mono-mcs etcd-server mingw-w64 wine64; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
# kubectl renders the manifests' kustomize overlays in the tests; Debian's package for it is kubernetes-client.
command -v kubectl >/dev/null 2>&1 || need+=(kubernetes-client)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "setup: not root, so not installing ${need[*]}; the linux data plane and root-only suites will be skipped" >&2
  fi
fi

npm ci --no-audit --no-fund

# Real PowerShell 7 (hosted from the Microsoft.PowerShell.SDK NuGet package) for the PowerShell route's tests.
if [ -f scripts/setup-pwsh.sh ]; then bash scripts/setup-pwsh.sh; fi
