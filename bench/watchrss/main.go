// Command watchrss measures the resident memory of `ovfinit watch` after
// it has received one signed event from each of many distinct instances,
// as an attacker holding the shared secret (or any sender, without one)
// can send. It starts the given ovfinit binary, posts the events over
// 127.0.0.1 and prints VmRSS from /proc/PID/status.
//
//	go build -o /tmp/ovfinit ./cmd/ovfinit
//	go run ./bench/watchrss -ovfinit /tmp/ovfinit -n 100000
//	go run ./bench/watchrss -ovfinit /tmp/ovfinit -n 2000 -message 250000 -id 2000
//
// -expect is passed to watch as --expect (default n+1: every instance is
// one watch waits for, so none is refused for being one too many).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ovfinit/ovfinit/callback"
)

func main() {
	bin := flag.String("ovfinit", "ovfinit", "the ovfinit binary to measure")
	n := flag.Int("n", 100000, "distinct instances, one signed event each")
	msg := flag.Int("message", 0, "bytes of data.message per event")
	idLen := flag.Int("id", 0, "pad each event id to this many bytes")
	expect := flag.Int("expect", 0, "--expect for watch (default n+1)")
	conc := flag.Int("c", 8, "concurrent senders")
	flag.Parse()
	if *expect == 0 {
		*expect = *n + 1
	}
	secret := []byte("bench-secret")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(*bin, "watch", "--listen", addr, "--expect", fmt.Sprint(*expect), "--timeout", "1h")
	cmd.Env = append(os.Environ(), "OVFINIT_CALLBACK_SECRET="+string(secret))
	cmd.Stdout = io.Discard
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	defer cmd.Process.Kill()
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i > 100 {
			fail(fmt.Errorf("watch does not listen on %s: %v", addr, err))
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Printf("fresh: VmRSS %s\n", rss(cmd.Process.Pid))

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc}}
	var next, codes204, other atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range *conc {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(*n) {
					return
				}
				inst := fmt.Sprintf("vm-%08d", i)
				id := "0123456789abcdef-1"
				if *idLen > len(id) {
					id = strings.Repeat("b", *idLen-2) + "-1"
				}
				ev := callback.Event{SpecVersion: callback.SpecVersion, ID: id, Source: callback.SourcePrefix + inst,
					Type: callback.TypeStepFinished, Time: time.Now().UTC(), Sequence: 1, DataContentType: "application/json",
					Data: callback.Data{InstanceID: inst, Attempt: 1, Boot: "0123456789abcdef", Step: "network", Status: callback.StatusOK,
						Percent: 40, DurationMS: 35, Message: strings.Repeat("m", *msg), Hostname: inst + ".lab", Addresses: []string{"10.0.0.5/24"}}}
				body, _ := json.Marshal(ev)
				req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", bytes.NewReader(body))
				req.Header.Set("Content-Type", callback.ContentType)
				callback.SignRequest(req.Header, secret, id, body, time.Now())
				resp, err := client.Do(req)
				if err != nil {
					other.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusNoContent {
					codes204.Add(1)
				} else {
					other.Add(1)
				}
			}
		})
	}
	wg.Wait()
	client.CloseIdleConnections()
	fmt.Printf("after %d instances (%d accepted, %d refused or failed) in %v: VmRSS %s\n",
		*n, codes204.Load(), other.Load(), time.Since(start).Round(time.Millisecond), rss(cmd.Process.Pid))
	time.Sleep(3 * time.Second)
	fmt.Printf("3 s later: VmRSS %s\n", rss(cmd.Process.Pid))
}

func rss(pid int) string {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "watchrss:", err)
	os.Exit(1)
}
