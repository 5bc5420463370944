package scripts

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestFindImage: the image's scripts are found in name order (library
// files "_*" and hidden files left out), or in the order asked for, with
// the names asked for that are missing listed for the caller to report.
func TestFindImage(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "etc", "ovfinit", "scripts.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"b.star", "a.star", "_lib.star", ".hidden.star", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x = 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	names := func(img ImageScripts) []string {
		var out []string
		for _, p := range img.Programs {
			out = append(out, p.Name)
		}
		return out
	}
	img, err := FindImage(root, ImageDir("linux"), nil, Dialect{})
	if got := names(img); err != nil || !slices.Equal(got, []string{"a.star", "b.star"}) || img.Missing != nil {
		t.Errorf("FindImage(all) = %v, missing %v, %v; want [a.star b.star]", got, img.Missing, err)
	}
	img, err = FindImage(root, ImageDir("linux"), []string{"b.star", "gone.star", "a.star"}, Dialect{})
	if got := names(img); err != nil || !slices.Equal(got, []string{"b.star", "a.star"}) || !slices.Equal(img.Missing, []string{"gone.star"}) {
		t.Errorf("FindImage(b, gone, a) = %v, missing %v, %v; want [b.star a.star], missing [gone.star]", got, img.Missing, err)
	}
	img, err = FindImage(t.TempDir(), ImageDir("linux"), nil, Dialect{})
	if err != nil || len(img.Programs) != 0 {
		t.Errorf("FindImage(no directory) = %v, %v; want nothing, no error", names(img), err)
	}
}

func TestImageName(t *testing.T) {
	for name, want := range map[string]string{"a": "a.star", "50-app.star": "50-app.star", "x.y": "x.y.star"} {
		if got, err := ImageName(name); err != nil || got != want {
			t.Errorf("ImageName(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	for _, name := range []string{"../etc/x", `a\b`, "c:x", ".", "..", "_lib"} {
		if got, err := ImageName(name); err == nil {
			t.Errorf("ImageName(%q) = %q, want an error", name, got)
		}
	}
}

func TestIsStarlark(t *testing.T) {
	for src, want := range map[string]bool{
		Marker + "\nprint(1)\n": true, " " + Marker + " \r\n": true, Marker: true,
		"#cloud-config\n" + Marker: false, "#!/bin/sh\n": false, "": false,
	} {
		if got := IsStarlark([]byte(src)); got != want {
			t.Errorf("IsStarlark(%q) = %v, want %v", src, got, want)
		}
	}
}
