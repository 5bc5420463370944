# ovfinit: `make demo` boots a throwaway VM with the agent; `make test` runs
# every test, the VM tests included. Both install what they need first
# (Debian 12, as root): see e2e/prepare.sh.

GO      ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
# Package versions must start with a digit: v1.2.0 -> 1.2.0, else 0.0.0~gitCOMMIT.
PKG_VERSION ?= $(if $(filter v%,$(VERSION)),$(patsubst v%,%,$(subst -,~,$(VERSION))),0.0.0~git$(COMMIT))
# File times in the packages: the commit's, so packages are reproducible.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# Fuzzing: how long each fuzzer runs, and how many runs go into minimizing
# each new interesting input. Go's default (60 s of byte-by-byte removal,
# O(n^2) runs for an n-byte input) stalls both workers on the first inputs
# larger than a few hundred bytes, so a 10 s run did a few dozen execs
# (golang/go#48820); a bound keeps them fuzzing. docs/testing.md.
FUZZTIME     ?= 10s
FUZZMINIMIZE ?= 100x

.PHONY: all build test test-images vet unit fuzz e2e demo prepare clean dist reproducible cross-test windows-test windows-test-run packages bench-ssh bench-rss bench-flood bench-web bench-boot docs-screenshot

all: build

## build: the static agent binary, bin/ovfinit
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/ovfinit ./cmd/ovfinit

## prepare: install qemu, busybox, genisoimage... and cache the guest kernel
prepare:
	bash e2e/prepare.sh

## test: vet, every release target, then every test, the VM tests included
## (they must not skip), the Linux tests again on arm64/s390x/ppc64le under
## qemu-user, the Windows vet, and every Windows test binary run under Wine
## with its table of results per package (docs/testing.md)
test: prepare dist reproducible packages windows-test windows-test-run
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	OVFINIT_E2E=require $(GO) test -count=1 -timeout 60m ./...
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZE) ./ovfenv
	$(MAKE) cross-test

## test-images: the real-image VM tests on the other network managers and
## init systems (Debian 12 with netplan, NetworkManager, sysvinit, OpenRC),
## built by prepare.sh on the first run; not in test (eight more image boots:
## a first boot and a reboot of each)
test-images:
	OVFINIT_E2E_VARIANTS=all bash e2e/prepare.sh
	OVFINIT_E2E=require OVFINIT_E2E_VARIANTS=all $(GO) test -count=1 -timeout 90m -run '^TestImageVariants$$' -v ./e2e/

## dist: release binaries for every target, SHA256SUMS, and the size budget
## (linux/amd64 under 15 MiB), into dist/
dist:
	GO=$(GO) VERSION=$(VERSION) COMMIT=$(COMMIT) packaging/scripts/dist.sh dist

## reproducible: build linux/amd64 and windows/amd64 again from a copy of the
## tree at another path with an empty build cache; the bytes must not change
reproducible: dist
	GO=$(GO) VERSION=$(VERSION) COMMIT=$(COMMIT) packaging/scripts/reproducible.sh dist

## packages: .deb, .rpm and .apk for every Linux target and the windows/amd64
## .msi (wixl), into dist/packages
packages: dist
	rm -rf dist/packages
	for a in amd64 arm64 s390x ppc64le; do \
	  SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(GO) run ./packaging/cmd/mkpkg --bin dist/ovfinit-linux-$$a \
	    --arch $$a --version '$(PKG_VERSION)' -o dist/packages || exit 1; done
	$(GO) run ./packaging/cmd/mkpkg --bin dist/ovfinit-windows-amd64.exe --arch amd64 \
	  --version '$(PKG_VERSION)' --formats msi -o dist/packages
	cd dist/packages && sha256sum ovfinit* >SHA256SUMS

## cross-test: every package's tests for linux/arm64, s390x, ppc64le under qemu-user
cross-test:
	GO=$(GO) packaging/scripts/crosstest.sh arm64 s390x ppc64le

## windows-test: vet for Windows and build every Windows test binary (they
## cannot run here: docs/testing.md)
windows-test:
	GOOS=windows $(GO) vet ./...
	rm -rf bin/windows-tests && mkdir -p bin/windows-tests
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) test -c -o bin/windows-tests/ ./...

## windows-test-run: run every Windows test binary under Wine (wine64 8.0),
## print passed/failed/skipped per package, then boot ovfinit.exe end to
## end; any failure fails the target (and make test). WINE_JOBS binaries at
## once (default 2)
windows-test-run: prepare
	GO=$(GO) packaging/scripts/winetest.sh

## unit: the tests that need no VM
unit:
	$(GO) test ./... -skip 'TestFirstBoot$$'

## fuzz: every Fuzz* function of every package, FUZZTIME each (not in test)
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "$$pkg $$f"; \
	    $(GO) test -run='^$$' -fuzz="^$$f\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZE) $$pkg || exit 1; \
	  done; \
	done

## demo: boot a VM with a sample environment and watch it come up with `ovfinit watch`,
## on the terminal and in its web view (it prints the URL); Ctrl-C ends it
demo: prepare build
	$(GO) build -o bin/ovfinit-demo ./e2e/demo
	bin/ovfinit-demo -ovfinit bin/ovfinit

## bench-ssh: ovfinit's SSH server against OpenSSH's sshd (root; slow; not in test)
bench-ssh:
	bash bench/ssh.sh

## bench-boot: first boot of Debian 12 and 13 with cloud-init, ovfinit and no
## agent, interleaved under qemu (root; slow; PAIRS=5; BASE=rev also boots
## ovfinit built at rev, to measure a change; docs/performance.md)
bench-boot:
	GO=$(GO) bash bench/boot.sh

## bench-rss: the SSH server's resident memory at each stage (root; under a minute)
bench-rss:
	bash bench/rss.sh

## bench-flood: the SSH server's RSS under an env flood, sockets held by idle connections (root)
bench-flood:
	bash bench/flood.sh

## bench-web: the web view's load time and memory in headless chromium with
## 1,000 simulated VMs x 20 events (not in test; docs/performance.md)
bench-web: build
	$(GO) run ./bench/webload -ovfinit bin/ovfinit

## docs-screenshot: docs/watch-web.png, the web view of the browser test's
## 20-VM run (a doc image, committed; needs chromium: make prepare)
docs-screenshot:
	$(GO) test -count=1 -run '^TestWatchWebBrowser$$' ./cmd/ovfinit -args -web-screenshot=$(CURDIR)/docs/watch-web.png

clean:
	rm -rf bin dist
