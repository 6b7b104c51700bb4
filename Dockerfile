# syntax=docker/dockerfile:1
# Rapport server image: a static binary on distroless, running as a non-root user.
#   docker build -t rapport --build-arg VERSION=$(git describe --always --dirty) .
# It needs DATABASE_URL (the embedded PostgreSQL needs the machine's PostgreSQL binaries, which this
# image does not have) and RAPPORT_JWT_SECRET; docker-compose.yml sets both.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
        -o /out/rapport ./cmd/rapport

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/rapport /usr/local/bin/rapport
USER nonroot:nonroot
WORKDIR /home/nonroot
ENV RAPPORT_ADDR=0.0.0.0:8080 \
    RAPPORT_DATA_DIR=/home/nonroot/.rapport
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/rapport"]
CMD ["serve"]
