# hallu: the two set-up commands are `make demo` and `make test`.
GO      ?= go
BIN     := bin/hallu
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build demo test test-deploy test-ollama vet fmt bench bench-hhem bench-hhem-run bench-hhem-long fuzz clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/hallu

# The embedded dataset through two built-in reference models served on
# loopback, scored and reported: no network, no API key.
demo: build
	./$(BIN) run --config examples/demo.yaml

# The second pass builds HHEM's kernels without assembly (the purego tag)
# and checks them against the same golden scores.
test:
	$(GO) vet ./...
	$(GO) vet -tags purego ./scorers/hhem/...
	$(GO) test -race -count=1 -timeout 8m ./...
	$(GO) test -count=1 -tags purego ./scorers/hhem/...
	$(MAKE) test-deploy

# The Kubernetes manifests decoded strictly into the API types and run
# against the hallu they name; deploy/kubernetes is a module of its own so
# that the main module does not depend on k8s.io/api.
test-deploy:
	cd deploy/kubernetes && $(GO) vet ./... && $(GO) test -count=1 -timeout 8m ./...

# hallu against a real Ollama (built from its Go module by scripts/ollama.sh,
# cached outside the repository) serving tiny models written by the tests.
# integration/ is a module of its own, so `make test` never builds it.
test-ollama:
	@bin="$$(GO=$(GO) ./scripts/ollama.sh)" && pg="$$(mktemp)" && \
	trap 'for g in $$(cat "$$pg"); do kill -KILL -- -$$g 2>/dev/null; done; rm -f "$$pg"' EXIT && trap 'exit 130' INT TERM && \
	cd integration && $(GO) vet ./... && \
	HALLU_OLLAMA_BIN="$$bin" HALLU_OLLAMA_PGIDS="$$pg" $(GO) test -count=1 -timeout 15m -v ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 30m ./...

# HHEM speed: kernel paths against ONNX Runtime and PyTorch; a whole
# `hallu score` run; long inputs (docs/bench.md).
bench-hhem:
	./scripts/bench-hhem.sh compare

bench-hhem-run:
	./scripts/bench-hhem.sh run

bench-hhem-long:
	./scripts/bench-hhem.sh long

# A short fuzzing pass over every fuzz target (FUZZTIME each).
FUZZTIME ?= 30s
FUZZ_TARGETS := dataset:FuzzCSV dataset:FuzzJSONL dataset:FuzzUnquote dataset:FuzzSniff dataset:FuzzParquetMatchesJSONL results:FuzzDecode \
	scorers/hhem/internal/tokenizer:FuzzEncode scorers/hhem/internal/safetensors:FuzzParseHeader internal/sentences:FuzzSplit
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) ./$$pkg; \
	done

clean:
	rm -rf bin results-demo
