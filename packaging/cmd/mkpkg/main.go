// Command mkpkg builds the ovfinit Linux packages (.deb, .rpm, .apk) from a
// release binary: `make packages` runs it for every Linux target in dist/.
//
//	go run ./packaging/cmd/mkpkg --bin dist/ovfinit-linux-amd64 --arch amd64 --version 1.2.0 -o dist/
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ovfinit/ovfinit/packaging/linuxpkg"
)

func main() {
	var o linuxpkg.Options
	var out, formats string
	var mtime int64
	flag.StringVar(&o.Binary, "bin", "", "the linux ovfinit binary (required)")
	flag.StringVar(&o.Arch, "arch", "amd64", "GOARCH of --bin")
	flag.StringVar(&o.Version, "version", "", "package version, e.g. 1.2.0 (required)")
	flag.StringVar(&out, "o", ".", "output directory")
	flag.StringVar(&formats, "formats", strings.Join(linuxpkg.Formats, ","), "comma-separated formats: deb, rpm, apk")
	flag.Int64Var(&mtime, "mtime", sourceDateEpoch(), "file times, Unix seconds (default $SOURCE_DATE_EPOCH, else 0)")
	flag.Parse()
	if err := os.MkdirAll(out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "mkpkg: -o:", err)
		os.Exit(1)
	}
	if o.Binary == "" || o.Version == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: mkpkg --bin FILE --arch GOARCH --version V [-o DIR] [--formats deb,rpm,apk]")
		os.Exit(2)
	}
	o.MTime = time.Unix(mtime, 0).UTC()
	for _, f := range strings.Split(formats, ",") {
		name, err := linuxpkg.FileName(o, f)
		if err == nil {
			err = build(o, f, filepath.Join(out, name))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "mkpkg:", err)
			os.Exit(1)
		}
		fmt.Println(filepath.Join(out, name))
	}
}

func build(o linuxpkg.Options, format, path string) error {
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return err
	}
	if err := linuxpkg.Build(o, format, f); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func sourceDateEpoch() int64 {
	n, _ := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64)
	return n
}
