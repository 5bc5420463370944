package callback

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// TLSOptions are the HTTPS settings of the callback, from the
// ovfinit.callback.ca, .pin, .client-cert and .client-key properties.
// The zero value means the system's CA certificates and no client
// certificate.
type TLSOptions struct {
	// CA holds PEM CA certificates that replace the system's roots.
	CA []byte
	// Pins are SHA-256 digests of the server certificate's
	// SubjectPublicKeyInfo (see ParsePins). With pins, the server's leaf
	// certificate must match one of them; with pins and no CA, the chain is
	// not checked against any CA (the pin is the trust), only the pin.
	Pins [][]byte
	// ClientCert and ClientKey are a PEM certificate (chain) and its PEM
	// private key, sent when the server asks for a client certificate.
	// ClientKey is a secret.
	ClientCert, ClientKey []byte
}

// IsZero reports whether o changes nothing.
func (o TLSOptions) IsZero() bool {
	return len(o.CA) == 0 && len(o.Pins) == 0 && len(o.ClientCert) == 0 && len(o.ClientKey) == 0
}

// Config returns the tls.Config the options describe. Its errors are
// *FieldErrors naming the property at fault; they never quote a key.
func (o TLSOptions) Config() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	var errs []error
	if len(o.CA) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(o.CA) {
			errs = append(errs, &FieldError{Property: propCA, Err: errors.New("no PEM certificate in the value")})
		}
		c.RootCAs = pool
	}
	if (len(o.ClientCert) > 0) != (len(o.ClientKey) > 0) {
		errs = append(errs, &FieldError{Property: propClientCert, Shown: propClientCert + " and " + propClientKey, Err: errors.New("set both or neither")})
	} else if len(o.ClientCert) > 0 {
		pair, err := tls.X509KeyPair(o.ClientCert, o.ClientKey)
		if err != nil {
			// The error of X509KeyPair never includes key material.
			errs = append(errs, &FieldError{Property: propClientCert, Shown: propClientCert + "/client-key", Err: err})
		}
		c.Certificates = []tls.Certificate{pair}
	}
	for i, p := range o.Pins {
		if len(p) != sha256.Size {
			errs = append(errs, &FieldError{Property: propPin, Err: fmt.Errorf("pin %d has %d bytes, want %d", i+1, len(p), sha256.Size)})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(o.Pins) > 0 {
		pins := o.Pins
		checkPin := func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("server sent no certificate")
			}
			got := SPKIDigest(cs.PeerCertificates[0])
			for _, p := range pins {
				if subtle.ConstantTimeCompare(got, p) == 1 {
					return nil
				}
			}
			return fmt.Errorf("server certificate public key %s matches no ovfinit.callback.pin", FormatPin(got))
		}
		if c.RootCAs == nil {
			// The pin replaces the CA check: VerifyConnection still runs
			// with InsecureSkipVerify, and it fails every other key.
			c.InsecureSkipVerify = true
		}
		c.VerifyConnection = checkPin
	}
	return c, nil
}

// SPKIDigest returns the SHA-256 digest of cert's SubjectPublicKeyInfo, the
// value a pin compares.
func SPKIDigest(cert *x509.Certificate) []byte {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return sum[:]
}

// FormatPin writes a digest as a pin: "sha256//" and standard base64, the
// format of curl's --pinnedpubkey.
func FormatPin(digest []byte) string {
	return "sha256//" + base64.StdEncoding.EncodeToString(digest)
}

// ParsePins reads an ovfinit.callback.pin value: one or more
// "sha256//<base64>" separated by ';' or ','.
func ParsePins(v string) ([][]byte, error) {
	var pins [][]byte
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' }) {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		b64, ok := strings.CutPrefix(f, "sha256//")
		if !ok {
			return nil, fmt.Errorf("%q does not start with sha256//", f)
		}
		d, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(d) != sha256.Size {
			return nil, fmt.Errorf("%q is not sha256// and the base64 of 32 bytes", f)
		}
		pins = append(pins, d)
	}
	if len(pins) == 0 {
		return nil, errors.New("no pin in the value")
	}
	return pins, nil
}
