# keyfence in a container: a static (musl) binary on Alpine with git, run as a non-root user.
#   docker build -t keyfence:0.1.0 .
#   docker run --rm -v "$PWD:/repo" keyfence:0.1.0 scan .
# Checked in CI by .ci/dockerfile-check.py (parsed with BuildKit's own parser; no engine runs there).

FROM rust:1-alpine3.20 AS build
# musl-dev: the C runtime libgit2 (vendored by git2) compiles against; the result links statically.
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY Cargo.toml Cargo.lock README.md ./
COPY src ./src
COPY rules ./rules
RUN cargo build --release --locked \
    && strip target/release/keyfence \
    && ./target/release/keyfence --version

FROM alpine:3.20
# git: for users' scripts around the range gate (keyfence itself reads repositories with libgit2).
# safe.directory: the mounted repository belongs to the host user, not to this image's user.
RUN apk add --no-cache git \
    && adduser -D -H -u 10001 keyfence \
    && git config --system --add safe.directory '*'
COPY --from=build /src/target/release/keyfence /usr/local/bin/keyfence
USER 10001
WORKDIR /repo
ENTRYPOINT ["keyfence"]
CMD ["--help"]
