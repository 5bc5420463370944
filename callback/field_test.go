package callback

import (
	"errors"
	"testing"
)

// TestFieldErrors: every settings error names its property as data, so
// the agent reports it against the property (and its ovf-env.xml line)
// without reading the message.
func TestFieldErrors(t *testing.T) {
	_, _, cliPEM, _ := testCert(t, "client", false, nil, nil)
	_, _, _, otherKeyPEM := testCert(t, "other", false, nil, nil)
	_, urlErr := ValidateURL("ftp://host/x?token=s3cret")
	_, emptyErr := ValidateURL("")
	cfgErr := func(o TLSOptions) error { _, err := o.Config(); return err }
	tests := []struct {
		name string
		err  error
		want []string // the properties, in order
	}{
		{"url scheme", urlErr, []string{"ovfinit.callback.url"}},
		{"url empty", emptyErr, []string{"ovfinit.callback.url"}},
		{"CA not PEM", cfgErr(TLSOptions{CA: []byte("hello")}), []string{"ovfinit.callback.ca"}},
		{"key without cert", cfgErr(TLSOptions{ClientKey: otherKeyPEM}), []string{"ovfinit.callback.client-cert"}},
		{"key of another cert", cfgErr(TLSOptions{ClientCert: cliPEM, ClientKey: otherKeyPEM}), []string{"ovfinit.callback.client-cert"}},
		{"three at once", cfgErr(TLSOptions{CA: []byte("x"), ClientCert: cliPEM, Pins: [][]byte{{1}}}),
			[]string{"ovfinit.callback.ca", "ovfinit.callback.client-cert", "ovfinit.callback.pin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := []error{tt.err}
			if j, ok := tt.err.(interface{ Unwrap() []error }); ok {
				errs = j.Unwrap()
			}
			var got []string
			for _, e := range errs {
				var fe *FieldError
				if !errors.As(e, &fe) {
					t.Fatalf("error %v (%T) is not a *FieldError", e, e)
				}
				got = append(got, fe.Property)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("properties = %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("properties = %q, want %q", got, tt.want)
				}
			}
		})
	}
}
