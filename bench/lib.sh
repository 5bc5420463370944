# Sourced by the bench scripts: a work directory removed at exit (KEEP=1
# keeps it) along with every process listed in PIDS, the ovfinit binary to
# measure ($OVFINIT, else a stripped build of this tree), free_port, and a
# client key in $WORK/client authorized in $WORK/authorized_keys.
# Needs HERE (the tree) and NAME (for the work directory) set.

WORK=$(mktemp -d "/tmp/ovfinit-bench-$NAME.XXXXXX")
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "${OVFINIT:-}" ]; then
	OVFINIT=$WORK/ovfinit
	(cd "$HERE" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$OVFINIT" ./cmd/ovfinit)
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

ssh-keygen -q -t ed25519 -N '' -f "$WORK/client"
cp "$WORK/client.pub" "$WORK/authorized_keys"
