# syntax=docker/dockerfile:1
# One image, three roles: `web`, `worker` or `all` (the default).

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: the build only runs tsc, and the image has Node 24 already, so the
# devDependency `node` (Node 24 for npm scripts outside the image) need not fetch its own.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY handlers ./handlers
COPY jobs ./jobs
# The image's own node, not node_modules/.bin/node (left dangling by --ignore-scripts).
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json
# client-node's door becomes a minified bundle of what the bot uses, as `npm run build` makes
# it: about 20 MB less resident memory in the worker (README: Runtime and stack notes).
RUN npm run --silent bundle:client-node

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
# A small young generation and a capped old one: V8's defaults let an idle worker grow
# past 180 MB after an alert storm; with these it stayed near 130 MB on Node 20 with the
# same latency (`npm run bench`); on Node 24, with client-node bundled and no Intl in the
# worker, it idles at 130–145 MB.
ENV NODE_OPTIONS="--max-semi-space-size=2 --max-old-space-size=128"
# One malloc arena for all of the process's threads instead of glibc's 8 per core: V8's
# compiler and GC threads and libuv's pool each kept an arena of their own at its peak,
# and the worker held 15–30 MB more at a storm's peak (`npm run bench`: 168 MB against
# 138–153), for the same CPU per notification.
ENV MALLOC_ARENA_MAX=1
# glibc's own starting thresholds, pinned: left to itself, glibc raises them whenever a
# large block is freed (the mmap one up to 32 MB, the trim one to twice that), and the
# worker then kept 10 MB of freed memory at the top of its heap (storm peak 149–151 MB
# against 139–140 with these, for the same CPU; README: Runtime and stack notes).
ENV MALLOC_MMAP_THRESHOLD_=131072
ENV MALLOC_TRIM_THRESHOLD_=131072
# The test kit starts every bot process, and the benchmarks' baselines, with these ENV lines.
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/handlers ./dist/handlers
COPY --from=build /app/dist/jobs ./dist/jobs
COPY src/config/default-policy.yaml ./src/config/default-policy.yaml
# The node image's unprivileged user; the Helm chart runs it with a read-only root filesystem.
USER 1000:1000
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Every function gets V8's baseline (Sparkplug) code on its first call instead of running
# in the interpreter until it is hot: approvals and the first minute of an alert storm
# run code that is rarely warm. `npm run bench`: approval → first API call 11–14.5 ms
# instead of 15–20, webhook p99 with the worker beside it 1.4–3.2× bare Bolt's instead of
# 2.2–4.6×, for 10–20 MB more at a storm's peak. Not allowed in NODE_OPTIONS, so here;
# the test kit and the benchmarks start every process, the baselines too, with it.
ENTRYPOINT ["node", "--always-sparkplug", "dist/src/main.js"]
CMD ["all"]
