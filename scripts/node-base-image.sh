#!/usr/bin/env bash
# Builds a local stand-in for the image node:20-bookworm-slim, for machines that cannot pull images
# but reach Debian's and npm's package registries: debootstrap of bookworm (minbase) plus this
# machine's Node.js, npm, Node headers, CA bundle and npm settings, imported into podman's store
# under the official name, so `podman build --isolation chroot --pull=never` resolves FROM to it.
# Idempotent: does nothing when the image is already there. Needs root. About 1 minute.
#
# Vendored from /work/shared/tools/node-base-image.sh (the workplace's shared tools), unchanged below this
# note, so a clean clone (where /work/shared may be absent) can build the base image itself.
# Used by scripts/container-smoke.sh only when no Docker engine answers.
set -euo pipefail
IMAGE=${1:-docker.io/library/node:20-bookworm-slim}
command -v podman >/dev/null && command -v buildah >/dev/null && command -v debootstrap >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah debootstrap >/dev/null
}
if podman image exists "$IMAGE"; then echo "$IMAGE already present"; exit 0; fi
node_bin=$(readlink -f "$(command -v node)")
node_prefix=$(dirname "$(dirname "$node_bin")")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
headers=$node_prefix/include/node
[ -d "$headers" ] || headers=/usr/include/node
[ -d "$headers" ] || { echo "no Node headers found next to $node_bin or in /usr/include/node" >&2; exit 1; }
# the Debian mirror this machine's apt already uses
mirror=$( { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'; grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}'; } | grep -v -- '-security' | head -1 || true)
[ -n "$mirror" ] || { echo "no Debian mirror found in apt's sources" >&2; exit 1; }
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null
install -D "$node_bin" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/lib/node_modules" "$rootfs/usr/local/include" "$rootfs/usr/local/etc" "$rootfs/etc/ssl/certs"
cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
cp -a "$headers" "$rootfs/usr/local/include/node"
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/" 2>/dev/null || true
cp /etc/apt/sources.list.d/*.sources "$rootfs/etc/apt/sources.list.d/" 2>/dev/null || true
{ grep -h '^cafile' /etc/npmrc /usr/etc/npmrc "$HOME/.npmrc" 2>/dev/null | head -1; echo "nodedir=/usr/local"; } > "$rootfs/usr/local/etc/npmrc"
tar -C "$rootfs" -c . | podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_VERSION='"$(node --version | tr -d v)" \
  --change 'CMD ["node"]' - "$IMAGE" >/dev/null
echo "built $IMAGE from debootstrap + node $(node --version)"
