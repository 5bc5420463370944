package ovfenv

import (
	"fmt"
	"io"
	"os"
)

// Transports a Source can come from.
const (
	TransportISO  = "iso"
	TransportFile = "file"
)

// Source is an environment document and where it was read from.
type Source struct {
	// Transport is the name of the transport it came from (TransportISO,
	// TransportFile, TransportFwCfg, ...).
	Transport string
	// Location is the device, file, key or command it was read from.
	Location string
	// Data is the document, not yet parsed. It may be empty when only
	// Extra properties were found (direct guestinfo keys).
	Data []byte
	// Extra are properties read outside the document: the direct
	// guestinfo.ovfinit.* keys. They come after the document's properties,
	// so they win over a property of the same key.
	Extra []Property
	// Tried is what every transport gave when this one was chosen.
	Tried []Attempt
}

// Environment parses Data and appends Extra to its properties.
func (s *Source) Environment() (*Environment, error) {
	if len(s.Data) == 0 && len(s.Extra) > 0 {
		return &Environment{Properties: append([]Property(nil), s.Extra...)}, nil
	}
	env, err := Parse(s.Data)
	if err != nil {
		return nil, err
	}
	env.Properties = append(env.Properties, s.Extra...)
	return env, nil
}

// ReadFile reads an environment document from a file (the --env flag).
// It refuses a file larger than MaxEnvSize.
func ReadFile(path string) (*Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading OVF environment: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxEnvSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading OVF environment %s: %w", path, err)
	}
	if len(data) > MaxEnvSize {
		return nil, fmt.Errorf("reading OVF environment %s: larger than %d bytes", path, MaxEnvSize)
	}
	return &Source{Transport: TransportFile, Location: path, Data: data}, nil
}
