#!/usr/bin/env bash
# Regenerates docs/images/lab-cluster.svg, the picture of a real lab: two nodes as network namespaces, each
# with its switchyard agent (subnets from the fake Kubernetes API server, so they are the same every run),
# two pods per node added through the CNI entrypoint, VXLAN between the nodes. Needs root and a build
# (npm run build). The lab is removed again whatever happens.
#   sudo bash scripts/make-lab-diagram.sh [OUT.svg|OUT.png]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/images/lab-cluster.svg}"
prefix="sypic"
sy() { node dist/src/cli/main.js "$@"; }
[ "$(id -u)" = 0 ] || { echo "make-lab-diagram: needs root (network namespaces)" >&2; exit 2; }
[ -f dist/src/cli/main.js ] || { echo "make-lab-diagram: build first (npm run build)" >&2; exit 2; }
# lab up refuses a prefix in use, so the trap only ever removes the lab this run made.
trap 'sy lab down --prefix "$prefix" >/dev/null 2>&1 || true' EXIT
sy lab up --prefix "$prefix" --nodes 2 --pods 2 --type overlay --subnet-source kubernetes >/dev/null
sy lab diagram --prefix "$prefix" -o "$out"
echo "wrote $out"
