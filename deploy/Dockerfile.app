# syntax=docker/dockerfile:1
#
# A function app that lives outside this repository and ships prebuilt
# WebAssembly modules (Rust, C, AssemblyScript, or Go built elsewhere), on
# the official Azure Functions v4 host image with the wasm language worker.
# The build context is the app folder (host.json and the function folders);
# the worker is built from a checkout of this repository, passed as the
# named build context "wasmworker" (BuildKit):
#
#   docker build -f /path/to/wasmworker/deploy/Dockerfile.app \
#     --build-context wasmworker=/path/to/wasmworker -t my-funcs /path/to/my-app
#
# See deploy/README.md ("An app outside this repository"). This file has not
# been built here (no Docker daemon where it was written).

ARG GO_VERSION=1.26
ARG FUNCTIONS_IMAGE=mcr.microsoft.com/azure-functions/base:4

# --- worker: the wasm language worker, a static linux/amd64 binary -------
FROM golang:${GO_VERSION} AS worker
WORKDIR /src
COPY --from=wasmworker go.mod go.sum ./
RUN go mod download
COPY --from=wasmworker cmd ./cmd
COPY --from=wasmworker internal ./internal
RUN CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -tags grpcnotrace -o /out/wasm/wasmworker ./cmd/wasmworker \
 && cp cmd/wasmworker/worker.config.json /out/wasm/worker.config.json

# --- runtime: the Functions host with the worker and the app ------------
FROM ${FUNCTIONS_IMAGE}
COPY --from=worker /out/wasm /azure-functions-host/workers/wasm
# The app as it is: host.json, <Function>/function.json and the .wasm files
# they name as scriptFile (Dockerfile.app.dockerignore leaves out
# local.settings.json, sources and build folders).
COPY . /home/site/wwwroot
ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \
    FUNCTIONS_WORKER_RUNTIME=wasm \
    WASMWORKER_CACHE_DIR=/tmp/wasmworker/wazero
RUN chmod 0755 /azure-functions-host/workers/wasm/wasmworker
# No CMD or ENTRYPOINT: the base image starts the Functions host.
