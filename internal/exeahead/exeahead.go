// Package exeahead reads ovfinit's own executable into the page cache as
// the first-boot pipeline's process starts, before the Go runtime and the
// package initialisers have paged most of it in one fault at a time.
//
// Under emulation, in a guest whose disk nobody has read yet, each page
// fault on the 14 MB static binary is a synchronous disk read of several
// milliseconds: about 130 of them came before main (0.9-1.2 s of the
// unit's start, issue 20), 70-90 more during the pipeline. Asked for at
// once, the whole file is a few large reads that the emulator's I/O
// thread serves while the guest's CPU goes on with the initialisers.
//
// It is imported for that side effect alone (cmd/ovfinit's main), and it
// acts only for `ovfinit run`, the boot's command: the others are short,
// and start from a binary the boot has cached already. It imports nothing
// that would make the linker initialise it late: its init runs among the
// first.
package exeahead

// chunk is how much one WILLNEED asks for. The kernel reads at most its
// readahead window or the device's largest request per call
// (force_page_cache_ra), 128 KiB by default, whatever the length asked:
// one call for the whole file reads its first 128 KiB-1.25 MiB only.
const chunk = 128 << 10

// forRun says whether the arguments are ovfinit's `run` (its first
// argument; the boot's unit and init scripts put it first).
func forRun(args []string) bool { return len(args) > 1 && args[1] == "run" }

// eachChunk calls advise for the whole of size bytes, a chunk of at most
// chunk at a time, in order, and stops at the first error.
func eachChunk(size int64, advise func(off, n int64) error) error {
	for off := int64(0); off < size; off += chunk {
		if err := advise(off, min(chunk, size-off)); err != nil {
			return err
		}
	}
	return nil
}
