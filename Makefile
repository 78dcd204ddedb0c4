# groundbeam: `make deps` once, then `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
# Two cores: keep the Beam-heavy builds from thrashing.
GOTEST := $(GO) test -p 2
ORT_LIB := .cache/ort/libonnxruntime.so.1
export GROUNDBEAM_ORT_LIB := $(abspath $(ORT_LIB))
BIN := bin/groundbeam
DEMO := demo-out

.PHONY: deps build demo test bench fuzz fmt vet clean

# The CUDA-capable runtime (docs/gpu.md): for GPU workers, and for the
# tests that check its error messages on a machine without a GPU.
ORT_GPU := .cache/ort-gpu

deps: $(ORT_LIB) $(ORT_GPU)/libonnxruntime_providers_cuda.so
	scripts/apt-deps.sh
	$(GO) mod download

$(ORT_LIB): scripts/fetch-ort.sh
	scripts/fetch-ort.sh $(ORT_LIB)

$(ORT_GPU)/libonnxruntime_providers_cuda.so: scripts/fetch-ort-gpu.sh
	scripts/fetch-ort-gpu.sh $(ORT_GPU)

build: deps
	$(GO) build -o $(BIN) ./cmd/groundbeam

# The main job end to end on embedded defaults: tiny bundles, a generated
# sample corpus, the local Prism runner.
demo: build
	rm -rf $(DEMO)
	$(BIN) models tiny $(DEMO)/models
	$(BIN) samples $(DEMO)/shards --pairs 24 --shards 3
	$(BIN) label --input '$(DEMO)/shards/*.tar' --output $(DEMO)/out \
		--teacher $(DEMO)/models/teacher --clip $(DEMO)/models/clip

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [[ -n "$$out" ]]; then echo "gofmt needed: $$out"; exit 1; fi

vet: deps
	$(GO) vet ./...

test: deps fmt vet
	$(GOTEST) ./...

# One package at a time: benchmarks of two packages side by side would
# share the cores and skew each other's figures.
bench: deps
	$(GO) test -p 1 -timeout 60m -run '^$$' -bench . -benchmem ./...

fuzz:
	@for t in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for f in $$(grep -h '^func Fuzz' $$t/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "fuzz $$t $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 60s $$t || exit 1; \
		done; \
	done

clean:
	rm -rf bin $(DEMO)
