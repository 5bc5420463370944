package main

import (
	"io"
	"os"
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
// instead, as cloud-init writes /dev/console; if it cannot be opened,
// to nowhere but the journal and the log file. The returned function
// closes what was opened.
func consoleWriter(stderr io.Writer, journalStream bool, open func() (io.WriteCloser, error)) (io.Writer, func()) {
	if !journalStream {
		return stderr, func() {}
	}
	c, err := open()
	if err != nil {
		return io.Discard, func() {}
	}
	return c, func() { c.Close() }
}

// openSystemConsole opens /dev/console for writing, never as a
// controlling terminal.
func openSystemConsole() (io.WriteCloser, error) {
	return os.OpenFile(systemConsole, os.O_WRONLY|os.O_APPEND|oNoCTTY, 0)
}
