# tapwatch — build, test, benchmark and demo.
# Every target installs what it needs (Debian packages through deploy/scripts/install-deps.sh).

GO        ?= go
CORPUS    ?= $(abspath ../shared/corpus)
BIN       := bin
FUZZTIME  ?= 15s
PREFIX    ?= /usr
DESTDIR   ?=
SV_FLOOR  := test/sv/floor.txt
export CGO_ENABLED := 1

# Fuzz targets run briefly by `make test` (package:target).
FUZZ_TARGETS := \
	./rules/decode:FuzzDecode \
	./rules/stream:FuzzStream \
	./rules/flow:FuzzLookup \
	./rules/mpm:FuzzScan \
	./rules/keyword:FuzzParseNumCmp \
	./rules/keyword:FuzzInspect \
	./rules/keyword:FuzzByteBase64Args \
	./rules:FuzzParseRule \
	./rules/proto/http:FuzzParser \
	./rules/proto/dns:FuzzDNS \
	./rules/proto/tls:FuzzTLS \
	./rules/proto/ssh:FuzzParseBanner

.PHONY: all deps build generate test unit fuzz sv bench demo install clean

all: build

deps:
	@bash deploy/scripts/install-deps.sh

build: deps
	$(GO) build -o $(BIN)/ ./agent/cmd/tapwatch ./agent/cmd/tapwatchd

# Regenerates the bpf2go bindings from bpfprog/c; CI checks the committed output matches.
generate: deps
	$(GO) generate ./bpfprog/...

test: deps unit fuzz sv

unit:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$fn in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$fn$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

# The suricata-verify runner: a table of pass/fail per test and "N passed, M failed";
# fails when fewer tests pass than the floor recorded in the repo.
sv:
	$(GO) run ./test/sv/cmd/svrun -corpus $(CORPUS) -tier all -floor $(SV_FLOOR)

bench: deps build
	bash test/bench/run.sh

demo: deps build
	bash test/demo/demo.sh

install: build
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" bash deploy/install.sh

clean:
	rm -rf $(BIN)
