package netcfg

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ovfinit/ovfinit/internal/errlist"
)

// The oracle corpus: netplan's own examples (testdata/netplan-examples,
// see PROVENANCE there) and cloud-init's and our own documents
// (testdata/oracle). Next to a document:
//   - NAME.refused lists, one per line, what ovfinit's error must contain
//     when it refuses the document on purpose (the key, and its line as
//     "line N");
//   - NAME.netplan is the netplan YAML the reference implementation reads
//     for a cloud-init v1 document (what cloud-init writes for it), since
//     netplan reads only v2.
var oracleDirs = []string{"testdata/netplan-examples", "testdata/oracle"}

// netplanBinary finds `netplan`, or skips the test with the reason; under
// OVFINIT_E2E=require a missing netplan fails it (e2e/prepare.sh installs
// netplan.io).
func netplanBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"netplan", "/usr/sbin/netplan"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("OVFINIT_E2E") == "require" {
		t.Fatal("netplan is not installed and OVFINIT_E2E=require: run e2e/prepare.sh (it installs netplan.io)")
	}
	t.Skip("netplan is not installed (apt-get install netplan.io, or run e2e/prepare.sh): the oracle comparison needs it")
	return ""
}

// TestNetplanOracle compares, for every document of the corpus, ovfinit's
// systemd-networkd files with what `netplan generate` writes for the same
// document, semantically (sections and keys per interface, see
// networkdModel), or checks that ovfinit refuses the document on purpose
// with the key and line its .refused file names.
func TestNetplanOracle(t *testing.T) {
	netplan := netplanBinary(t)
	var docs []string
	for _, d := range oracleDirs {
		f, _ := filepath.Glob(filepath.Join(d, "*.yaml"))
		docs = append(docs, f...)
	}
	if len(docs) < 80 {
		t.Fatalf("oracle corpus has %d documents, want at least 80 (issue 15)", len(docs))
	}
	var equal, refusedOnPurpose, examples, examplesOK int
	refusedKeys := map[string]int{}
	for _, doc := range docs {
		isExample := strings.HasPrefix(doc, "testdata/netplan-examples/")
		if isExample {
			examples++
		}
		t.Run(strings.TrimSuffix(filepath.Base(doc), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(doc)
			if err != nil {
				t.Fatal(err)
			}
			base := strings.TrimSuffix(doc, ".yaml")
			want, wantRefused := readLines(base + ".refused")
			cfg, lines, err := ParseNetworkConfig(data)
			if err == nil {
				err = withLines(Validate(cfg), lines)
			}
			if wantRefused {
				if err == nil {
					t.Fatalf("ovfinit accepts %s; %s.refused says it refuses it", doc, base)
				}
				if !slices.ContainsFunc(want, func(w string) bool { return strings.HasPrefix(w, "line ") }) {
					t.Errorf("%s.refused names no line: a refusal on purpose names the key and its line (issue 15)", base)
				}
				for _, w := range want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("ovfinit's error for %s = %q, want it to contain %q", doc, err, w)
					}
				}
				if !t.Failed() {
					refusedOnPurpose++
					for _, w := range want {
						if k, _, ok := strings.Cut(strings.TrimPrefix(w, "\""), "\""); ok && strings.HasPrefix(w, "\"") {
							refusedKeys[k]++
						} else if !strings.HasPrefix(w, "line ") {
							refusedKeys[w]++
						}
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("ovfinit refuses %s: %v (accept it, or refuse it on purpose with a %s.refused file)", doc, err, base)
			}
			input := data
			if np, err := os.ReadFile(base + ".netplan"); err == nil {
				input = np
			} else if strings.Contains(string(data), "version: 1") {
				t.Fatalf("%s is cloud-init v1: netplan needs %s.netplan, the v2 cloud-init writes for it", doc, base)
			}
			if !strings.Contains(string(input), "network:") {
				// cloud-init takes a bare document and hands netplan
				// the same under network:.
				input = []byte("network:\n  " + strings.ReplaceAll(strings.TrimSpace(string(input)), "\n", "\n  ") + "\n")
			}
			theirs, err := netplanGenerate(t, netplan, input)
			if err != nil {
				t.Fatalf("netplan refuses %s, ovfinit accepts it: %v", doc, err)
			}
			files, err := Render(ManagerNetworkd, asWritten(cfg))
			if err != nil {
				t.Fatalf("Render(networkd, %s) = %v", doc, err)
			}
			ours := map[string]string{}
			for _, f := range files {
				ours[f.Path] = string(f.Data)
			}
			if diff := cmp.Diff(networkdModel(theirs), networkdModel(ours)); diff != "" {
				t.Errorf("%s: ovfinit's networkd files differ from netplan's (-netplan +ovfinit):\n%s", doc, diff)
				return
			}
			equal++
			if isExample {
				examplesOK++
			}
		})
	}
	keys := make([]string, 0, len(refusedKeys))
	for k := range refusedKeys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	t.Logf("oracle: %d documents: %d accepted and equivalent to netplan, %d refused on purpose; netplan examples accepted: %d of %d; refused keys: %s",
		len(docs), equal, refusedOnPurpose, examplesOK, examples, strings.Join(keys, ", "))
}

// withLines puts the YAML line before each of Validate's field errors, as
// the agent reports them (Origins.Of), so that a .refused file can ask
// for the line of a problem found after parsing too.
func withLines(err error, lines Lines) error {
	var out []error
	for _, e := range errlist.Flatten(err) {
		var fe *FieldError
		if errors.As(e, &fe) {
			if l := lines.Line(fe.NIC, fe.Field); l > 0 {
				e = fmt.Errorf("line %d: %w", l, e)
			}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

func readLines(path string) ([]string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out, true
}

// asWritten names every entry as the document does, without a machine to
// resolve against: ethernets keep their match, VLANs and bonds their ID.
func asWritten(c Config) Config {
	for i := range c.NICs {
		if c.NICs[i].KindOf() != Ethernet {
			c.NICs[i].Name = c.NICs[i].ID
		}
	}
	return c
}

// netplanGenerate runs `netplan generate --root-dir` on a document and
// returns the systemd-networkd files it writes, by path.
func netplanGenerate(t *testing.T, netplan string, doc []byte) (map[string]string, error) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc/netplan"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/netplan/50-oracle.yaml"), doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(netplan, "generate", "--root-dir", root).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, out)
	}
	files := map[string]string{}
	paths, _ := filepath.Glob(filepath.Join(root, "run/systemd/network/*"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[p] = string(b)
	}
	return files, nil
}

// networkdModel reads .network, .netdev and .link files into what they
// mean, comparable across writers: per file kind and [Match] (or netdev
// name), the set of Section.Key=value settings. Lists (DNS=, Domains=,
// ARPIPTargets=) become one entry per item, Gateway= in [Network] is the
// default route it is, durations are in milliseconds, PermanentMACAddress=
// and MACAddress= are the same match, and every [Route] is one entry with
// its keys sorted. Comments and the order of files and lines do not count.
// Left out, on purpose, and listed in the report: WakeOnLan=off, which
// netplan writes into every .link file (ovfinit leaves the NIC's setting).
// A routing-policy From=/To= host address and its /32 (/128) are the same,
// and a setting written twice is one.
func networkdModel(files map[string]string) map[string][]string {
	out := map[string][]string{}
	for path, data := range files {
		ext := filepath.Ext(path)
		if ext != ".network" && ext != ".netdev" && ext != ".link" {
			continue
		}
		var match, netdevName []string
		var entries []string
		section := ""
		var route []string
		flushRoute := func() {
			if route != nil {
				slices.Sort(route)
				entries = append(entries, "Route: "+strings.Join(route, ","))
				route = nil
			}
		}
		for _, line := range strings.Split(data, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if strings.HasPrefix(line, "[") {
				flushRoute()
				section = strings.Trim(line, "[]")
				if section == "Route" {
					route = []string{}
				}
				continue
			}
			k, v, _ := strings.Cut(line, "=")
			switch {
			case section == "Match":
				if k == "Type" && v == "ether" {
					continue
				}
				if k == "PermanentMACAddress" {
					k = "MACAddress"
				}
				match = append(match, k+"="+strings.ToLower(v))
				continue
			case section == "NetDev" && k == "Name":
				netdevName = append(netdevName, v)
			case section == "Link" && k == "WakeOnLan" && v == "off":
				continue
			case section == "RoutingPolicyRule" && (k == "From" || k == "To"):
				v = strings.TrimSuffix(strings.TrimSuffix(v, "/32"), "/128")
			case section == "Route":
				route = append(route, k+"="+normValue(k, v))
				continue
			case section == "Network" && k == "Gateway":
				def := "0.0.0.0/0"
				if strings.Contains(v, ":") {
					def = "::/0"
				}
				entries = append(entries, "Route: Destination="+def+",Gateway="+v)
				continue
			}
			if k == "DNS" || k == "Domains" || k == "ARPIPTargets" {
				for _, f := range strings.Fields(v) {
					entries = append(entries, section+"."+k+"="+f)
				}
				continue
			}
			entries = append(entries, section+"."+k+"="+normValue(k, v))
		}
		flushRoute()
		slices.Sort(match)
		key := ext + " " + strings.Join(match, " ")
		if ext == ".netdev" {
			key = ".netdev " + strings.Join(netdevName, " ")
		}
		slices.Sort(entries)
		out[key] = append(out[key], entries...)
	}
	for k := range out {
		// A setting written twice means it once (netplan 0.106 repeats a
		// device's nameservers when it parses a file twice for a forward
		// reference).
		slices.Sort(out[k])
		out[k] = slices.Compact(out[k])
	}
	return out
}

// normValue puts durations (keys ending in Sec) in milliseconds.
func normValue(k, v string) string {
	switch v {
	case "yes", "true":
		return "true"
	case "no", "false":
		return "false"
	}
	if !strings.HasSuffix(k, "Sec") {
		return v
	}
	// systemd reads a bare number as seconds.
	mult, num := 1000, v
	switch {
	case strings.HasSuffix(v, "ms"):
		mult = 1
		num = strings.TrimSuffix(v, "ms")
	case strings.HasSuffix(v, "s"):
		mult, num = 1000, strings.TrimSuffix(v, "s")
	}
	if n, err := strconv.Atoi(num); err == nil {
		return strconv.Itoa(n*mult) + "ms"
	}
	return v
}

// TestNetplanRenderOracle checks ovfinit's netplan writer with the oracle:
// for every document of the corpus that ovfinit accepts, the netplan YAML
// ovfinit writes for it (ManagerNetplan) must make `netplan generate`
// write the same networkd files as the document itself. Documents whose
// NICs are matched by glob or renamed without a MAC are left out: the
// netplan writer writes a resolved configuration, with the NICs' names.
func TestNetplanRenderOracle(t *testing.T) {
	netplan := netplanBinary(t)
	var docs []string
	for _, d := range oracleDirs {
		f, _ := filepath.Glob(filepath.Join(d, "*.yaml"))
		docs = append(docs, f...)
	}
	checked := 0
	for _, doc := range docs {
		base := strings.TrimSuffix(doc, ".yaml")
		if _, refused := readLines(base + ".refused"); refused {
			continue
		}
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		cfg, _, err := ParseNetworkConfig(data)
		if err != nil {
			continue // TestNetplanOracle reports it
		}
		resolvable := true
		for _, n := range cfg.NICs {
			if n.KindOf() == Ethernet && (IsGlob(n.Name) || n.Driver != "" || n.SetName != "" && n.MAC == nil || n.MAC != nil && n.SetName == "" && n.Name == "") {
				resolvable = false
			}
		}
		if !resolvable {
			continue
		}
		t.Run(filepath.Base(base), func(t *testing.T) {
			t.Parallel() // each runs netplan generate twice, in its own root
			input := data
			if np, err := os.ReadFile(base + ".netplan"); err == nil {
				input = np
			}
			if !strings.Contains(string(input), "network:") {
				input = []byte("network:\n  " + strings.ReplaceAll(strings.TrimSpace(string(input)), "\n", "\n  ") + "\n")
			}
			theirs, err := netplanGenerate(t, netplan, input)
			if err != nil {
				t.Skipf("netplan refuses the document: %v", err)
			}
			named := asWritten(cfg)
			for i, n := range named.NICs {
				if n.SetName != "" {
					// What Resolve makes of a rename matched by MAC.
					named.NICs[i].Name = n.SetName
				}
			}
			files, err := Render(ManagerNetplan, named)
			if err != nil {
				t.Fatalf("Render(netplan) = %v", err)
			}
			ours, err := netplanGenerate(t, netplan, files[0].Data)
			if err != nil {
				t.Fatalf("netplan refuses ovfinit's netplan file: %v\n%s", err, files[0].Data)
			}
			if diff := cmp.Diff(networkdModel(theirs), networkdModel(ours)); diff != "" {
				t.Errorf("%s: networkd files from ovfinit's netplan file differ from the document's (-document +ovfinit):\n%s\n%s", doc, diff, files[0].Data)
			}
		})
		checked++
	}
	t.Logf("netplan writer: %d documents checked through netplan generate", checked)
}
