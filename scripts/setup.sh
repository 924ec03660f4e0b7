#!/usr/bin/env bash
# Installs what Switchyard needs on a fresh Debian machine: the kernel tools the linux data plane and its
# tests drive (iproute2, nftables), the peers its tests and benchmarks compare against (Debian's reference
# CNI plugins, iperf3, tcpdump), gcc/make for the stub HCN library, mono-mcs to compile and run the
# PowerShell module's C# P/Invoke binding against that stub, then the npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
need=()
for pkg in iproute2 nftables iperf3 tcpdump containernetworking-plugins gcc make util-linux iputils-ping mono-mcs; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "setup: not root, so not installing ${need[*]}; the linux data plane and root-only suites will be skipped" >&2
  fi
fi

npm ci --no-audit --no-fund
