package cloudconfig

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
)

// maxFile bounds a write_files entry once decoded.
const maxFile = 16 << 20

// decodeContent decodes a write_files content as its encoding says
// (cloud-init's names: b64, base64, gz, gzip, gz+b64 and the like,
// text/plain).
func decodeContent(content, encoding string) ([]byte, error) {
	enc := strings.ToLower(strings.TrimSpace(encoding))
	data := []byte(content)
	var b64, gz bool
	switch enc {
	case "", "text/plain":
	case "b64", "base64":
		b64 = true
	case "gz", "gzip":
		gz = true
	case "gz+b64", "gz+base64", "gzip+b64", "gzip+base64":
		b64, gz = true, true
	default:
		return nil, fmt.Errorf("encoding %q: want text/plain, b64, gzip or gz+b64", encoding)
	}
	if b64 {
		d, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(content), ""))
		if err != nil {
			return nil, fmt.Errorf("not base64 (encoding %s): %v", encoding, err)
		}
		data = d
	}
	if gz {
		r, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("not gzip (encoding %s): %v", encoding, err)
		}
		d, err := io.ReadAll(io.LimitReader(r, maxFile+1))
		if err != nil {
			return nil, fmt.Errorf("not gzip (encoding %s): %v", encoding, err)
		}
		data = d
	}
	if len(data) > maxFile {
		return nil, fmt.Errorf("larger than %d MiB", maxFile>>20)
	}
	return data, nil
}
