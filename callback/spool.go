package callback

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// The spool keeps every event not yet acknowledged on disk, one file per
// event, so that a crash, a kill or a reboot loses none: the next Sender
// that opens the directory sends them first, in the order they were
// emitted. File names are "<20-digit spool number>.json"; the number grows
// across runs (the next is one more than the largest present), so name
// order is emission order.
//
// The directory is a slash path under a root directory (an offline image
// tree, or "/"), and every file in it is reached through rootfs, so that a
// link in the image (var/lib -> /var/lib) never leads the spool onto the
// host that runs ovfinit --root.
type spool struct {
	root string // host path of the root directory
	dir  string // slash path under root
	next uint64
	// synced counts the fsynced writes (TestSpoolSyncsWhatManagersActOn).
	synced int
}

const spoolExt = ".json"

// spoolMaxFile bounds what is read back from one spool file.
const spoolMaxFile = 1 << 20

// openSpool creates dir under root (0700) when needed and returns the spool
// and the events found in it, oldest first. A file that can not be read or
// decoded is renamed to "<name>.bad" and reported in bad; it is never sent.
func openSpool(root, dir string) (sp *spool, found []queued, bad []error, err error) {
	if root == "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, nil, nil, fmt.Errorf("callback spool: %w", err)
		}
		root, dir = dir, "/"
	}
	fsys, err := rootfs.Open(root)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("callback spool: %w", err)
	}
	defer fsys.Close()
	dir = path.Join("/", filepath.ToSlash(dir))
	if dir != "/" {
		if err := fsys.MkdirAll(dir, 0o700); err != nil {
			return nil, nil, nil, fmt.Errorf("callback spool: %w", err)
		}
	}
	ents, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("callback spool: %w", err)
	}
	sp = &spool{root: root, dir: dir, next: 1}
	var names []string
	for _, e := range ents {
		name := e.Name()
		num, ok := strings.CutSuffix(name, spoolExt)
		if !ok || !e.Type().IsRegular() {
			continue // temp files of an interrupted write, .bad files
		}
		n, perr := strconv.ParseUint(num, 10, 64)
		if perr != nil {
			continue
		}
		sp.next = max(sp.next, n+1)
		names = append(names, name)
	}
	slices.Sort(names) // fixed width: name order is number order
	for _, name := range names {
		p := path.Join(dir, name)
		b, rerr := fsys.ReadFile(p, spoolMaxFile)
		var ev Event
		if rerr == nil {
			rerr = json.Unmarshal(b, &ev)
		}
		if rerr == nil && ev.ID == "" {
			rerr = fmt.Errorf("no event id")
		}
		if rerr != nil {
			fsys.Rename(p, p+".bad")
			bad = append(bad, fmt.Errorf("callback spool: %s: %v (renamed to %s.bad)", p, rerr, name))
			continue
		}
		found = append(found, queued{ev: ev, file: name})
	}
	// Temp files left by a write that was interrupted hold events that
	// were never acknowledged to Emit's caller: remove them.
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), spoolExt+".") {
			fsys.Remove(path.Join(dir, e.Name()))
		}
	}
	return sp, found, bad, nil
}

// put writes ev to a new spool file (temp + rename, 0600) and returns its
// name. Only what a manager acts on, ready and failed, is fsynced: a
// progress event lost with the page cache (a power cut, not a crash or a
// reboot) costs the manager a line of progress, while an fsync per event
// cost a first boot about 40 disk flushes on the pipeline's path (two
// events per step; each a flush of the host's under emulation).
func (sp *spool) put(ev Event) (string, error) {
	name := fmt.Sprintf("%020d%s", sp.next, spoolExt)
	if err := sp.write(name, ev); err != nil {
		return "", err
	}
	sp.next++
	return name, nil
}

// write replaces the file name with ev, fsynced if ev is ready or failed
// (put).
func (sp *spool) write(name string, ev Event) error {
	sync := ev.Type == TypeReady || ev.Type == TypeFailed
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	write := rootfs.WriteFileAtNoSync
	if sync {
		write = rootfs.WriteFileAt
		sp.synced++
	}
	if err := write(sp.root, path.Join(sp.dir, name), b, 0o600); err != nil {
		return fmt.Errorf("callback spool: %w", err)
	}
	return nil
}

// remove deletes an acknowledged or rejected event's file.
func (sp *spool) remove(name string) error {
	fsys, err := rootfs.Open(sp.root)
	if err != nil {
		return fmt.Errorf("callback spool: %w", err)
	}
	defer fsys.Close()
	err = fsys.Remove(path.Join(sp.dir, name))
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("callback spool: %w", err)
	}
	return nil
}
