# The image the Helm chart (deploy/helm) runs: sluice on the official Node 24 image, production
# dependencies only, as a non-root user, with nothing written outside its volumes (the chart
# mounts the state volume at /var/lib/sluice and an emptyDir at /tmp, and the root filesystem is
# read-only). Node runs the TypeScript sources directly (type stripping), so there is no build
# step: what runs is what the repository's tests ran. No container engine runs in CI, so
# test/deploy/image.test.ts does what this file does (the same COPY list, the same npm ci, the
# same ENTRYPOINT and CMD) on the host, and checks the chart's command against ENTRYPOINT and CMD.
#
#   docker build -t ghcr.io/sluice/sluice:0.1.0 .
ARG NODE_IMAGE=node:24-bookworm-slim

# Production dependencies, with their prebuilt native parts (lmdb, snappy, lz4).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
# tini as PID 1: it forwards SIGTERM to node, which then finishes its batch, commits and leaves the
# consumer group, and it reaps zombies. Node as PID 1 would get no default signal handling.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY bin ./bin
COPY src ./src
# The state directory belongs to the `node` user, so a fresh Docker volume mounted there is
# writable too (Kubernetes sees to that with the chart's fsGroup).
RUN mkdir -p /var/lib/sluice && chown 1000:1000 /var/lib/sluice
# The `node` user (uid and gid 1000) of the official image; the chart's securityContext and its
# fsGroup use the same ids. The app's files stay root-owned and read-only to it.
USER 1000:1000
VOLUME ["/var/lib/sluice", "/tmp"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/sluice.js"]
CMD ["run", "--config", "/etc/sluice/pipeline.yaml"]
