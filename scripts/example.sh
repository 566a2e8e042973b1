#!/usr/bin/env bash
# Runs the runner in the foreground on the bundled examples/manifests, with
# its state in /tmp/runner-example. Builds the example image locally first
# (no registry needed). Ctrl-C stops the runner; its pods keep running:
#   podman pod ps --filter label=static-pod-runner/managed=true
#   curl http://localhost:8080/        (the "hello" pod)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-busybox-image.sh
# On hosts where podman's defaults cannot start a container (Debian 12 on
# hybrid cgroups: crun fails), use the test settings. The runner itself never
# overrides the host's podman configuration; only this demo script does.
if [ -z "${CONTAINERS_CONF:-}" ] && ! podman run --rm --network none localhost/runner-busybox:1 true >/dev/null 2>&1; then
  export CONTAINERS_CONF="$PWD/test/fixtures/containers.conf"
  echo "example: podman's defaults cannot run a container here; using $CONTAINERS_CONF" >&2
fi
exec node --import tsx src/cli/main.ts run --manifest-dir examples/manifests --state-dir /tmp/runner-example --images-dir /tmp/runner-example/images --config /dev/null "$@"
