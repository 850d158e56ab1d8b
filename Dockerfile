# syntax=docker/dockerfile:1
# The one `oms` binary plus the built SPA. docker-compose.yml runs it as the API and as each worker.

# --- SPA (client/ is optional: without it an empty dist is copied) ---
FROM node:20-bookworm-slim AS client
WORKDIR /src
COPY . .
# hadolint ignore=DL3003
RUN --mount=type=cache,target=/root/.npm \
    if [ -f client/package.json ]; then \
      cd client && \
      if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi && \
      npm run build; \
    else \
      mkdir -p client/dist; \
    fi

# --- oms binary ---
FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
# Cache mounts keep the registry and build artefacts between image builds; the binary is copied out of them.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --bin oms && \
    cp target/release/oms /usr/local/bin/oms

# --- runtime ---
FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin oms \
 && mkdir -p /app /data/media \
 && chown oms:oms /data/media
COPY --from=builder /usr/local/bin/oms /usr/local/bin/oms
COPY --from=client /src/client/dist /app/client/dist
WORKDIR /app
USER 10001:10001
ENV OMS_HTTP_ADDR=0.0.0.0:8080 \
    OMS_MEDIA_DIR=/data/media
EXPOSE 8080
ENTRYPOINT ["oms"]
CMD ["up"]
