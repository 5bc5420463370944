package cloudconfig

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
)

// MaxUserData bounds user-data once decoded (and decompressed).
const MaxUserData = 16 << 20

// DecodeUserData decodes the user-data property's value as cloud-init's OVF
// datasource takes it: base64, with whitespace (the line breaks of a
// wrapped value) dropped first, then gunzipped when it is gzip. The caller
// names the property in the error.
func DecodeUserData(v string) ([]byte, error) {
	data, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v), ""))
	if err != nil {
		return nil, fmt.Errorf("not base64: the OVF transport carries user-data base64-encoded, and this is not valid base64 (%v)", err)
	}
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		r, err := gzip.NewReader(bytes.NewReader(data))
		if err == nil {
			data, err = io.ReadAll(io.LimitReader(r, MaxUserData+1))
		}
		if err != nil {
			return nil, fmt.Errorf("gzip: %v", err)
		}
	}
	if len(data) > MaxUserData {
		return nil, fmt.Errorf("larger than %d MiB", MaxUserData>>20)
	}
	return data, nil
}

// The forms of user-data ovfinit applies (Form); any other form is named
// by Form and refused.
const (
	FormNone        = ""             // empty
	FormCloudConfig = "cloud-config" // #cloud-config: Parse
	FormScript      = "script"       // #!: run once per instance, as cloud-init's scripts_user
)

// Form names the kind of user-data by its first line, as cloud-init tells
// them apart. A #!starlark document is a FormScript here: the caller
// (scripts.Marker) tells it apart first.
func Form(data []byte) string {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	l := strings.TrimSpace(string(line))
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return FormNone
	case l == Header:
		return FormCloudConfig
	case strings.HasPrefix(l, "#cloud-config-archive"):
		return "#cloud-config-archive"
	case strings.HasPrefix(l, "#cloud-config-jsonp"):
		return "#cloud-config-jsonp"
	case strings.HasPrefix(l, "#cloud-boothook"):
		return "#cloud-boothook"
	case strings.HasPrefix(l, "#include"):
		return "#include"
	case strings.HasPrefix(l, "#part-handler"):
		return "#part-handler"
	case strings.HasPrefix(strings.ToLower(l), "## template:"):
		return "Jinja template"
	case strings.HasPrefix(l, "#!"):
		return FormScript
	case strings.HasPrefix(strings.ToLower(l), "content-type:"), strings.HasPrefix(strings.ToLower(l), "mime-version:"):
		return "MIME multipart"
	}
	return "unrecognised (no #cloud-config or #! first line)"
}
