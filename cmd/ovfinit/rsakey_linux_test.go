package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"github.com/ovfinit/ovfinit/sshd"
)

// TestRSAKeyHelper: the helper lowers its own priority to nice 19 before
// it generates (so that the seconds RSA takes on an emulated CPU go to
// idle time), and hands back a usable RSA key of sshd.RSABits bits, read
// through rsaFromHelper as ovfinit run reads it.
func TestRSAKeyHelper(t *testing.T) {
	bin := buildOvfinit(t)
	var out bytes.Buffer
	nice, seen := 0, false
	// The helper can be done between two looks on a loaded machine: a few
	// tries, and it must be seen at 19 in one.
	for try := 0; try < 5 && !seen; try++ {
		cmd := exec.CommandContext(t.Context(), bin, rsaKeyArg)
		out.Reset()
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			st, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/stat")
			if err != nil {
				break
			}
			// Field 19 is the nice value; fields count after the ")" of comm.
			f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:]))
			if len(f) < 17 || f[0] == "Z" {
				break
			}
			if nice, _ = strconv.Atoi(f[16]); nice == 19 {
				seen = true
				break
			}
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("%s %s: %v", bin, rsaKeyArg, err)
		}
	}
	if !seen {
		t.Errorf("the helper ran at nice %d, want 19", nice)
	}
	k, err := parseRSAKey(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if n := k.(*rsa.PrivateKey).N.BitLen(); n != sshd.RSABits {
		t.Errorf("key of %d bits, want %d", n, sshd.RSABits)
	}

	k, err = rsaFromHelper(t.Context(), cmdrun.Exec{}, bin)
	if err != nil {
		t.Fatalf("rsaFromHelper() = %v", err)
	}
	if _, ok := k.(*rsa.PrivateKey); !ok {
		t.Errorf("rsaFromHelper() = %T, want an RSA key", k)
	}
}

// parseRSAKey takes an RSA key and nothing else.
func TestParseRSAKeyRefuses(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(ec, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string][]byte{
		"ECDSA":   pem.EncodeToMemory(block),
		"nothing": nil,
		"text":    []byte("rsa-host-key: something went wrong\n"),
	} {
		if k, err := parseRSAKey(out); err == nil {
			t.Errorf("%s: parseRSAKey() = %T, want an error", name, k)
		}
	}
}
