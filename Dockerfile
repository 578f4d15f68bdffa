# One image for both processes: `node bin/api.ts` (default) or `node bin/worker.ts`.
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production SKIP_TEMPORAL_DOWNLOAD=1
COPY package.json package-lock.json ./
# The Temporal binaries are only for the embedded mode; in compose Temporal runs as its own service.
RUN npm ci --omit=dev --no-audit --no-fund
COPY api ./api
COPY activities ./activities
COPY bin ./bin
COPY db ./db
COPY lib ./lib
COPY templates ./templates
COPY workflows ./workflows
USER node
EXPOSE 3000
CMD ["node", "bin/api.ts"]
