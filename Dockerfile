# Baton server image: a static binary, run as a non-root user, data in /data.
# Build: docker build -t baton .
# Run:   docker run -p 8080:8080 -v baton-data:/data baton
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/baton .

FROM debian:bookworm-slim
# tini reaps the children of tasks that exit after their parent (Baton runs
# shell tasks and plugins as child processes); git and curl are what tasks
# commonly need.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini ca-certificates git curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin baton \
 && mkdir -p /data && chown baton:baton /data
COPY --from=build /out/baton /usr/local/bin/baton
USER baton
VOLUME /data
EXPOSE 8080
ENV BATON_DATA=/data BATON_ADDR=0.0.0.0:8080
# Ready: the database takes writes and the engine answers (docs/server.md).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${BATON_ADDR##*:}/readyz" >/dev/null || exit 1
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/baton"]
CMD ["serve"]
