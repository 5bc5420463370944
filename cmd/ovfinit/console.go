package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// systemConsole is the kernel's console device: the serial console of a VM
// booted with console=ttyS0, which managers and `virsh console` read.
const systemConsole = "/dev/console"

// consoleWriter is where run writes its console lines (the log and the
// host-key fingerprint block): stderr, unless stderr is systemd's journal
// stream while the journal handler also logs. Under systemd that stream
// goes to the journal only, so every line reached the journal twice (once
// through stderr, once with its fields through the journal handler) and
// never the console. Then the lines go to open (the system console)
// instead, as cloud-init writes /dev/console, through an asyncConsole; if
// it cannot be opened, to nowhere but the journal and the log file. The
// returned function writes what is still queued (for up to
// consoleFlushWait) and closes what was opened.
func consoleWriter(stderr io.Writer, journalStream bool, open func() (io.WriteCloser, error)) (io.Writer, func()) {
	if !journalStream {
		return stderr, func() {}
	}
	c, err := open()
	if err != nil {
		return io.Discard, func() {}
	}
	a := newAsyncConsole(c, consoleQueueLimit)
	return a, func() {
		a.Close(consoleFlushWait)
		c.Close()
	}
}

// openSystemConsole opens /dev/console for writing, never as a
// controlling terminal.
func openSystemConsole() (io.WriteCloser, error) {
	return os.OpenFile(systemConsole, os.O_WRONLY|os.O_APPEND|oNoCTTY, 0)
}

const (
	// consoleQueueLimit bounds the console lines waiting to be written:
	// a first boot logs about 20 KiB.
	consoleQueueLimit = 256 << 10
	// consoleFlushWait is how long ovfinit waits, when it exits, for the
	// console to take what is queued.
	consoleFlushWait = 5 * time.Second
)

// asyncConsole writes to the console from a goroutine of its own, so that
// the console's pace never holds up the pipeline. A serial console is
// slow: under emulation, with every line written to it in turn, the
// pipeline's last steps and its READY=1 waited for the burst of lines
// before them (the unit took 0.8-1.1 s longer in a bench than with no
// console at all, docs/performance.md), and a console that does not take
// its output at all (a serial port with flow control and nobody reading)
// would stop the boot. Lines go out whole and in order. When more than
// limit bytes wait, the lines that do not fit are dropped and counted, and
// a note saying how many follows the lines before them: the journal and
// the log file have every line.
type asyncConsole struct {
	w     io.Writer
	limit int
	wake  chan struct{} // one pending signal for loop
	done  chan struct{} // closed when loop returns

	mu      sync.Mutex
	pending []byte
	dropped int
	closing bool
}

func newAsyncConsole(w io.Writer, limit int) *asyncConsole {
	a := &asyncConsole{w: w, limit: limit, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go a.loop()
	return a
}

// Write queues p (one log line, or the fingerprint block) and returns at
// once; after Close it drops p.
func (a *asyncConsole) Write(p []byte) (int, error) {
	a.mu.Lock()
	switch {
	case a.closing:
	case len(a.pending)+len(p) > a.limit:
		a.dropped++
	default:
		a.pending = append(a.pending, p...)
	}
	a.mu.Unlock()
	a.signal()
	return len(p), nil
}

// signal wakes loop, or leaves it the wake-up already pending.
func (a *asyncConsole) signal() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *asyncConsole) loop() {
	defer close(a.done)
	for {
		a.mu.Lock()
		buf, dropped, closing := a.pending, a.dropped, a.closing
		a.pending, a.dropped = nil, 0
		a.mu.Unlock()
		if dropped > 0 {
			buf = fmt.Appendf(buf, "ovfinit: %d console lines dropped: the console was too slow (the journal and the log file have them)\n", dropped)
		}
		if len(buf) > 0 {
			a.w.Write(buf) // best effort: the console is a copy
			continue
		}
		if closing {
			return
		}
		<-a.wake
	}
}

// Close writes what is queued, waiting up to wait for the console to take
// it, and stops the writer.
func (a *asyncConsole) Close(wait time.Duration) {
	a.mu.Lock()
	a.closing = true
	a.mu.Unlock()
	a.signal()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-a.done:
	case <-t.C:
	}
}
