# syntax=docker/dockerfile:1
# cdp-emulator as a container (sidecar). See docs/docker.md.
#
#   docker build -t cdp-emulator .
#   docker run --rm -p 4010:4010 cdp-emulator
#
# Without a Docker engine: scripts/container-smoke.sh builds and checks it with podman/buildah.

# Node 24, an LTS line; CI (.ci/run) runs the whole test suite on it as well as on the build
# machine's Node. For another supported line (package.json "engines"):
#   docker build --build-arg NODE_IMAGE=node:22-bookworm-slim -t cdp-emulator .
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: compile better-sqlite3 and the TypeScript once, then drop the dev dependencies ----
FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# better-sqlite3 is compiled here from source by node-gyp, against the headers the Node image
# ships in /usr/local/include/node, not fetched as a prebuilt binary: the same result with or
# without access to GitHub releases and nodejs.org. (npm 11 warns that it does not know these two
# settings; they are read by prebuild-install and node-gyp, not by npm.)
ENV npm_config_build_from_source=true \
    npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
# npm 11 runs install scripts only for the packages package.json's "allowScripts" approves
# (better-sqlite3, esbuild); the check below fails the build if the native module is missing.
RUN npm ci --no-audit --no-fund \
 && node -e "require('better-sqlite3')(':memory:').prepare('select 1').get()"
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# Then keep only what runs: production dependencies, and of better-sqlite3's build only the addon
# (its SQLite sources and object files are ~26 MB).
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && cd node_modules/better-sqlite3 \
 && mv build/Release/better_sqlite3.node /tmp/ \
 && rm -rf build deps src \
 && mkdir -p build/Release \
 && mv /tmp/better_sqlite3.node build/Release/ \
 && cd /app \
 && node -e "require('better-sqlite3')(':memory:').prepare('select 1').get()"

# ---- runtime: dist/, the bundled schemas and scenarios, production node_modules, no compiler ----
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    CDP_EMULATOR_HOST=0.0.0.0 \
    CDP_EMULATOR_PORT=4010 \
    CDP_EMULATOR_DB=/data/cdp.sqlite
# A fixed, numeric non-root user (Kubernetes' runAsNonRoot can verify it); the official image's
# `node` user (uid 1000) is left alone.
RUN groupadd --system --gid 10001 cdp \
 && useradd --system --uid 10001 --gid cdp --home-dir /app --no-create-home --shell /usr/sbin/nologin cdp \
 && mkdir -p /data \
 && chown cdp:cdp /data
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY schemas ./schemas
COPY scenarios ./scenarios
COPY scripts/docker-entrypoint.sh /usr/local/bin/cdp-emulator-entrypoint
USER 10001:10001
VOLUME /data
EXPOSE 4010
# No curl in the image: node's fetch. Follows CDP_EMULATOR_PORT if it is changed.
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.CDP_EMULATOR_PORT||4010)+'/_emulator/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The entrypoint only sets CDP_EMULATOR_SCENARIOS/SCHEMAS for non-empty /config/* mounts, then
# execs the command: node is PID 1 and handles SIGTERM/SIGINT itself (graceful stop, exit 0).
ENTRYPOINT ["/usr/local/bin/cdp-emulator-entrypoint"]
# --max-semi-space-size=2: the bin's own V8 setting (see the first lines of src/cli.ts), which
# keeps the emulator's resident memory under 200 MB under load.
CMD ["node", "--max-semi-space-size=2", "/app/dist/cli.js", "start"]
