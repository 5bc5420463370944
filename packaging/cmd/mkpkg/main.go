// Command mkpkg builds the ovfinit packages from a release binary: the Linux
// .deb, .rpm and .apk (nfpm), and the Windows .msi (wixl). `make packages`
// runs it for every Linux target in dist/ and for windows/amd64.
//
//	go run ./packaging/cmd/mkpkg --bin dist/ovfinit-linux-amd64 --arch amd64 --version 1.2.0 -o dist/
//	go run ./packaging/cmd/mkpkg --bin dist/ovfinit-windows-amd64.exe --arch amd64 --version 1.2.0 --formats msi -o dist/
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ovfinit/ovfinit/packaging/linuxpkg"
	"github.com/ovfinit/ovfinit/packaging/msi"
)

func main() {
	var o linuxpkg.Options
	var out, formats string
	var mtime int64
	flag.StringVar(&o.Binary, "bin", "", "the linux ovfinit binary (required)")
	flag.StringVar(&o.Arch, "arch", "amd64", "GOARCH of --bin")
	flag.StringVar(&o.Version, "version", "", "package version, e.g. 1.2.0 (required)")
	flag.StringVar(&out, "o", ".", "output directory")
	flag.StringVar(&formats, "formats", strings.Join(linuxpkg.Formats, ","), "comma-separated formats: deb, rpm, apk, msi")
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
		if f == "msi" {
			if o.Arch != "amd64" {
				fmt.Fprintf(os.Stderr, "mkpkg: msi: --arch %s: wixl builds x64 (amd64) installers only\n", o.Arch)
				os.Exit(1)
			}
			name := filepath.Join(out, "ovfinit-"+o.Version+"-x64.msi")
			if err := msi.Build(context.Background(), o.Binary, o.Version, "x64", name); err != nil {
				fmt.Fprintln(os.Stderr, "mkpkg:", err)
				os.Exit(1)
			}
			fmt.Println(name)
			continue
		}
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
