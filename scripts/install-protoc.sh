#!/usr/bin/env bash
# Installs what `go generate ./internal/protocol` (make proto) needs: Debian's protoc with
# the well-known types, and the pinned Go plugins. Idempotent.
set -euo pipefail
if ! command -v protoc >/dev/null || [ ! -f /usr/include/google/protobuf/duration.proto ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends protobuf-compiler libprotobuf-dev
fi
go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
# the same version as go.mod's github.com/planetscale/vtprotobuf (its runtime helpers)
go install github.com/planetscale/vtprotobuf/cmd/protoc-gen-go-vtproto@v0.6.1-0.20240319094008-0393e58bdf10
echo "protoc $(protoc --version); plugins in $(go env GOPATH)/bin (add it to PATH)"
