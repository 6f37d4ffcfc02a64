# syntax=docker/dockerfile:1
# Multi-stage: build with the Rust toolchain, run on a small Debian image as a non-root user.
#   docker build -t latchkey .
#   docker run -p 8080:8080 -v latchkey-data:/var/lib/latchkey/data latchkey
# Production settings (HTTPS cookies, the secret) are in docs/deploy.md.

FROM rust:1.95-bookworm AS build
# libpq for the PostgreSQL backend (SQLite is compiled in).
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock diesel.toml ./
COPY src src
COPY templates templates
COPY static static
COPY migrations migrations
# A workspace member: cargo needs its manifest even though only the server is built.
COPY bench bench
RUN cargo build --release --locked --bin latchkey \
    && install -m 0755 target/release/latchkey /usr/local/bin/latchkey

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/latchkey latchkey \
    && mkdir -p /var/lib/latchkey/data \
    && chown -R latchkey:latchkey /var/lib/latchkey
COPY --from=build /usr/local/bin/latchkey /usr/local/bin/latchkey
USER latchkey
WORKDIR /var/lib/latchkey
ENV LATCHKEY_ADDR=0.0.0.0:8080 \
    LATCHKEY_DATABASE_URL=/var/lib/latchkey/data/latchkey.db \
    LATCHKEY_SECRET_FILE=/var/lib/latchkey/data/secret.key \
    LATCHKEY_LOG_FORMAT=json
# The database and the generated server secret live here: keep the volume, back it up.
VOLUME ["/var/lib/latchkey/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["latchkey", "health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["latchkey"]
CMD ["serve"]
