# One image for both processes: `node bin/api.ts` (default) or `node bin/worker.ts`. Node 24 runs the
# .ts files as they are (type stripping is on by default), so there is no build step.
# Node 24 images are published on Debian trixie; the bookworm variants are no longer maintained.
FROM node:24-trixie-slim
WORKDIR /app
ENV NODE_ENV=production SKIP_TEMPORAL_DOWNLOAD=1
COPY package.json package-lock.json ./
# `npm ci` runs our postinstall (`node scripts/install-temporal.ts`), so that file must be here; with
# SKIP_TEMPORAL_DOWNLOAD set it exits at once: the Temporal binaries are only for the embedded mode,
# and in compose Temporal runs as its own service. Dependencies keep their own install scripts.
COPY scripts/install-temporal.ts ./scripts/install-temporal.ts
# patch-package applies patches/ (a postgres driver fix not yet released) in the same postinstall.
COPY patches ./patches
# Then what only the embedded mode or other machines need goes: PGlite (drizzle's optional peer, which npm
# installs anyway; this image always runs against PostgreSQL) and the Temporal bridge's builds for other
# platforms and its Rust sources. Node itself is the image's: npm's `node` package is a devDependency.
RUN npm ci --omit=dev --no-audit --no-fund \
  && rm -rf node_modules/@electric-sql \
  && keep="$(node -p '({ x64: "x86_64", arm64: "aarch64" })[process.arch]')-unknown-linux-gnu" \
  && find node_modules/@temporalio/core-bridge/releases -mindepth 1 -maxdepth 1 ! -name "$keep" -exec rm -rf {} + \
  && rm -rf node_modules/@temporalio/core-bridge/sdk-core node_modules/@temporalio/core-bridge/src
COPY api ./api
COPY activities ./activities
COPY bin ./bin
COPY db ./db
COPY lib ./lib
COPY services ./services
COPY scripts/org-load-thailand.ts ./scripts/org-load-thailand.ts
COPY templates ./templates
COPY workflows ./workflows
# Signing keys from the image itself: docker compose run --rm --no-deps api node scripts/sso-keygen.ts
COPY scripts/sso-keygen.ts ./scripts/sso-keygen.ts
# DATA_DIR in compose: a new named volume mounted here takes this directory's owner, so the
# unprivileged `node` user can write the evidence documents.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
CMD ["node", "bin/api.ts"]
