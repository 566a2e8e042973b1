#!/usr/bin/env bash
# Builds a tiny image from Debian's busybox-static, locally, with no registry:
# a rootfs with busybox and its applets, imported with `podman import`.
# Usage: scripts/build-busybox-image.sh [IMAGE]   (default localhost/runner-busybox:1)
# Does nothing if the image already exists.
set -euo pipefail
image="${1:-localhost/runner-busybox:1}"
if podman image exists "$image"; then exit 0; fi
busybox=/bin/busybox
# A container has no shared libraries to offer: the busybox must be static.
if ! [ -x "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
  echo "build-busybox-image: a static busybox is needed at $busybox: apt-get install busybox-static" >&2
  exit 1
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/www" "$root/etc"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
echo '<h1>Hello from a static pod</h1>' > "$root/www/index.html"
tar -C "$root" -c . | podman import \
  --change 'ENV PATH=/bin' \
  --change 'CMD ["/bin/sh"]' \
  - "$image" >"$root.log" 2>&1 || { cat "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"
echo "built $image"
