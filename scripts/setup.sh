#!/usr/bin/env bash
# Installs what the runner, its example and its tests need on Debian 12, as
# root, from Debian's packages and the npm registry only (no other network):
#   podman, runc, catatonit (podman builds its local pause image from it),
#   busybox-static (the local test/example image), zsh (the test of the zsh
#   completion, test/cli/completion.test.ts), and the Node dependencies.
# With --packaging it also installs what building and checking the .deb/.rpm
# needs (dpkg-dev, rpm, lintian, rpmlint, systemd-analyze, qemu-user for the
# arm64 binary), and nftables, which the deb depends on where podman's network
# stack is CNI, as apt picks here without recommends (the test installs the
# deb with dpkg). Idempotent: skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(podman runc catatonit busybox-static zsh)
if [ "${1:-}" = "--packaging" ]; then
  packages+=(dpkg-dev rpm lintian rpmlint nftables systemd man-db binutils qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross)
fi
need=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "setup: run as root to install: ${need[*]}" >&2; exit 1; fi
  # A dpkg run cut off (a power cut, a killed session) leaves packages half
  # configured, and apt then refuses every install until it is finished.
  if [ -n "$(dpkg --audit 2>/dev/null)" ]; then
    echo "setup: finishing an interrupted dpkg run first (dpkg --configure -a)"
    DEBIAN_FRONTEND=noninteractive dpkg --configure -a >/dev/null
  fi
  echo "setup: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if ! command -v node >/dev/null || ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
  echo "setup: Node.js 20 or newer is needed to build and test (the packaged runner needs none)" >&2
  exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
