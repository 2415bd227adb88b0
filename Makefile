# hallu: the two set-up commands are `make demo` and `make test`.
GO      ?= go
BIN     := bin/hallu
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build demo test vet fmt bench bench-hhem fuzz clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/hallu

# The embedded dataset through two built-in reference models served on
# loopback, scored and reported: no network, no API key.
demo: build
	./$(BIN) run --config examples/demo.yaml

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 8m ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 30m ./...

bench-hhem:
	./scripts/bench-hhem.sh

# A short fuzzing pass over every fuzz target.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzCSV -fuzztime 30s ./dataset
	$(GO) test -run '^$$' -fuzz FuzzJSONL -fuzztime 30s ./dataset
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./results

clean:
	rm -rf bin results-demo
