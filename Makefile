# ovfinit: `make demo` boots a throwaway VM with the agent; `make test` runs
# every test, the VM tests included. Both install what they need first
# (Debian 12, as root): see e2e/prepare.sh.

GO      ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: all build test vet unit e2e demo prepare clean bench-ssh

all: build

## build: the static agent binary, bin/ovfinit
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/ovfinit ./cmd/ovfinit

## prepare: install qemu, busybox, genisoimage... and cache the guest kernel
prepare:
	bash e2e/prepare.sh

## test: vet, then every test, the VM tests included (they must not skip)
test: prepare
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	OVFINIT_E2E=require $(GO) test -count=1 -timeout 40m ./...

## unit: the tests that need no VM
unit:
	$(GO) test ./... -skip 'TestFirstBoot$$'

## demo: boot a VM with a sample environment and watch it come up (Ctrl-C ends it)
demo: prepare
	$(GO) build -o bin/ovfinit-demo ./e2e/demo
	bin/ovfinit-demo

## bench-ssh: ovfinit's SSH server against OpenSSH's sshd (root; slow; not in test)
bench-ssh:
	bash bench/ssh.sh

clean:
	rm -rf bin
