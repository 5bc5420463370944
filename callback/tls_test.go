package callback

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testCert makes a certificate for 127.0.0.1 signed by parent (self-signed
// when parent is nil) and returns it with its key, both PEM.
func testCert(t *testing.T, cn string, isCA bool, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, []byte, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kder, _ := x509.MarshalECPrivateKey(key)
	return cert, key,
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func TestTLS(t *testing.T) {
	ca, caKey, caPEM, _ := testCert(t, "test CA", true, nil, nil)
	srvCert, _, srvPEM, srvKeyPEM := testCert(t, "server", false, ca, caKey)
	_, _, otherCAPEM, _ := testCert(t, "other CA", true, nil, nil)
	_, _, cliPEM, cliKeyPEM := testCert(t, "client", false, ca, caKey)
	pair, err := tls.X509KeyPair(srvPEM, srvKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pin := SPKIDigest(srvCert)
	wrongPin := make([]byte, 32)

	type server struct {
		requireClient bool
	}
	tests := []struct {
		name    string
		srv     server
		opts    TLSOptions
		wantErr string // in the log's give-up line; "" means delivered
	}{
		{"CA", server{}, TLSOptions{CA: caPEM}, ""},
		{"system roots do not know the test CA", server{}, TLSOptions{}, "certificate signed by unknown authority"},
		{"wrong CA", server{}, TLSOptions{CA: otherCAPEM}, "certificate signed by unknown authority"},
		{"pin alone", server{}, TLSOptions{Pins: [][]byte{pin}}, ""},
		{"pin and CA", server{}, TLSOptions{CA: caPEM, Pins: [][]byte{wrongPin, pin}}, ""},
		{"wrong pin", server{}, TLSOptions{Pins: [][]byte{wrongPin}}, "matches no ovfinit.callback.pin"},
		{"wrong pin with CA", server{}, TLSOptions{CA: caPEM, Pins: [][]byte{wrongPin}}, "matches no ovfinit.callback.pin"},
		{"pin right, CA wrong", server{}, TLSOptions{CA: otherCAPEM, Pins: [][]byte{pin}}, "unknown authority"},
		{"client certificate", server{requireClient: true}, TLSOptions{CA: caPEM, ClientCert: cliPEM, ClientKey: cliKeyPEM}, ""},
		{"client certificate missing", server{requireClient: true}, TLSOptions{CA: caPEM}, "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got atomic.Int32
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got.Add(1)
				w.WriteHeader(204)
			}))
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
			if tt.srv.requireClient {
				pool := x509.NewCertPool()
				pool.AddCert(ca)
				srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
				srv.TLS.ClientCAs = pool
			}
			srv.Config.ErrorLog = nil
			srv.StartTLS()
			defer srv.Close()

			var buf strings.Builder
			mu := &lockedWriter{w: &buf, mu: new(sync.Mutex)}
			s := NewSender(slog.New(slog.NewTextHandler(mu, nil)), "b")
			defer s.Close()
			cfg := fastConfig(srv.URL + "/events")
			cfg.MaxElapsed = 100 * time.Millisecond
			cfg.TLS = tt.opts
			if err := s.Start(cfg); err != nil {
				t.Fatalf("Start() = %v", err)
			}
			emitSteps(s, 1, 1)
			err := s.Wait(waitCtx(t))
			s.Close()
			mu.mu.Lock()
			out := buf.String()
			mu.mu.Unlock()
			if tt.wantErr == "" {
				if err != nil || got.Load() != 1 {
					t.Fatalf("Wait() = %v with %d requests served, want delivered; log:\n%s", err, got.Load(), out)
				}
				return
			}
			if err == nil || got.Load() != 0 {
				t.Fatalf("Wait() = %v with %d requests served, want refused (%s)", err, got.Load(), tt.wantErr)
			}
			if !strings.Contains(out, tt.wantErr) {
				t.Errorf("log does not say %q:\n%s", tt.wantErr, out)
			}
		})
	}
}

func TestTLSOptionErrors(t *testing.T) {
	_, _, cliPEM, cliKeyPEM := testCert(t, "client", false, nil, nil)
	_, _, _, otherKeyPEM := testCert(t, "other", false, nil, nil)
	tests := []struct {
		name string
		opts TLSOptions
		want string
	}{
		{"CA not PEM", TLSOptions{CA: []byte("hello")}, "ovfinit.callback.ca: no PEM certificate"},
		{"cert without key", TLSOptions{ClientCert: cliPEM}, "set both or neither"},
		{"key without cert", TLSOptions{ClientKey: cliKeyPEM}, "set both or neither"},
		{"key of another cert", TLSOptions{ClientCert: cliPEM, ClientKey: otherKeyPEM}, "ovfinit.callback.client-cert/client-key: "},
		{"short pin", TLSOptions{Pins: [][]byte{{1, 2}}}, "ovfinit.callback.pin: pin 1 has 2 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.opts.Config()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Config() = %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), string(otherKeyPEM[30:60])) {
				t.Errorf("Config() error repeats key material: %v", err)
			}
		})
	}
}

func TestParsePins(t *testing.T) {
	d := make([]byte, 32)
	d[0] = 7
	good := FormatPin(d)
	tests := []struct {
		in      string
		n       int
		wantErr string
	}{
		{good, 1, ""},
		{good + ";" + good, 2, ""},
		{" " + good + " , " + good + ";", 2, ""},
		{"", 0, "no pin"},
		{"sha1//AAAA", 0, "does not start with sha256//"},
		{"sha256//AAAA", 0, "base64 of 32 bytes"},
		{"sha256//!!!", 0, "base64 of 32 bytes"},
	}
	for _, tt := range tests {
		pins, err := ParsePins(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParsePins(%q) = %v, want an error containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || len(pins) != tt.n || pins[0][0] != 7 {
			t.Errorf("ParsePins(%q) = %v, %v, want %d pins", tt.in, pins, err, tt.n)
		}
	}
}
