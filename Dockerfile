# A static hallu on a minimal base: the default build has no cgo (HHEM's
# kernels are Go assembly), so the binary needs no libc.
#   docker build -t hallu:dev .
#   docker run --rm -p 8080:8080 -v hf:/models hallu:dev serve --addr=0.0.0.0:8080 --scorer=hhem
# Not built in hallu's CI (no container engine there); see README.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /hallu ./cmd/hallu

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /hallu /hallu
ENV HF_HUB_CACHE=/models/hub
EXPOSE 8080
USER nonroot
ENTRYPOINT ["/hallu"]
