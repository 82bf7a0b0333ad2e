# syntax=docker/dockerfile:1.7
#
# One image for every service binary of the workspace.
#
# Each service takes its binary name as the container command, and `migrate` as first argument to
# run its database migrations (they take a Postgres advisory lock, so concurrent runs never race):
#
#   docker run --rm uapi-hris control-plane            # serve (the default CMD)
#   docker run --rm uapi-hris control-plane migrate    # apply migrations, then exit
#   docker run --rm uapi-hris control-plane keygen     # print fresh signing/verifying/SCIM keys
#   docker run --rm uapi-hris scim-ingress migrate     # same pattern for every service
#
# Configuration is UAPI_<SECTION>__<KEY> environment variables (see docker-compose.yml, deploy/k8s).
# Build with BuildKit: `docker build -t uapi-hris .`

############################ builder ############################
FROM rust:1.95-slim-bookworm AS builder

# rust:*-slim already ships gcc and libc6-dev, which is all aws-lc-sys needs (it builds with the cc
# crate). No libpq (diesel-async speaks the wire protocol), no protoc (protox compiles the protos).

WORKDIR /app
COPY . .

# The service binaries the image may contain; those not (yet) in the workspace are skipped.
ARG BINARIES="control-plane uapi scim-ingress employee-store webhook-dispatcher portal"

# Registry and target/ live in cache mounts, so rebuilds only recompile what changed. The binaries
# are copied out of the cache mount (it is not part of the layer). Stale copies from an earlier build
# are removed first so only binaries the current workspace actually builds reach /out.
RUN --mount=type=cache,id=uapi-cargo-registry,target=/usr/local/cargo/registry \
    --mount=type=cache,id=uapi-cargo-git,target=/usr/local/cargo/git \
    --mount=type=cache,id=uapi-target,target=/app/target,sharing=locked \
    set -eux; \
    for bin in $BINARIES; do rm -f "target/release/$bin"; done; \
    cargo build --release --locked --bins; \
    mkdir -p /out; \
    for bin in $BINARIES; do \
        if [ -f "target/release/$bin" ]; then cp "target/release/$bin" /out/; fi; \
    done; \
    test -x /out/control-plane; \
    ls -l /out

############################ runtime ############################
FROM debian:bookworm-slim AS runtime

RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates; \
    rm -rf /var/lib/apt/lists/*; \
    groupadd --system --gid 10001 uapi; \
    useradd --system --uid 10001 --gid 10001 --home-dir /home/uapi --create-home --shell /usr/sbin/nologin uapi

COPY --from=builder /out/ /usr/local/bin/

# Services look for an optional config/<service>.toml relative to the working directory.
WORKDIR /app

ENV UAPI_HTTP__HOST=0.0.0.0 \
    UAPI_TELEMETRY__LOG_FORMAT=json

USER 10001:10001

# Each service's command is its binary name; append `migrate` to run its migrations instead.
CMD ["control-plane"]
