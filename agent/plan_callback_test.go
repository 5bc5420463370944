package agent

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/ovfenv"
)

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "c"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func TestPlanCallback(t *testing.T) {
	cert, key := selfSigned(t)
	_, otherKey := selfSigned(t)
	b64 := base64.StdEncoding.EncodeToString
	pin := callback.FormatPin(make([]byte, 32))
	url := []string{ovfenv.KeyCallbackURL.Name, "https://127.0.0.1/e"}
	tests := []struct {
		name    string
		props   []string
		wantErr []string // each must appear; nil: no error
		check   func(t *testing.T, p *Plan)
	}{
		{"all set", append(url, ovfenv.KeyCallbackSecret.Name, "top-secret", ovfenv.KeyCallbackCA.Name, b64(cert), ovfenv.KeyCallbackPin.Name, pin,
			ovfenv.KeyCallbackClientCert.Name, b64(cert), ovfenv.KeyCallbackClientKey.Name, b64(key), ovfenv.KeyAttempt.Name, "2"), nil,
			func(t *testing.T, p *Plan) {
				c := p.CallbackConfig("i-1")
				if string(c.Secret) != "top-secret" || len(c.TLS.CA) == 0 || len(c.TLS.Pins) != 1 || len(c.TLS.ClientKey) == 0 || c.Attempt != 2 {
					t.Errorf("CallbackConfig() = %+v, want secret, CA, one pin, client key, attempt 2", c)
				}
				if c.MaxElapsed != 2*callback.DefaultMaxElapsed {
					t.Errorf("CallbackConfig().MaxElapsed = %v at attempt 2, want %v", c.MaxElapsed, 2*callback.DefaultMaxElapsed)
				}
			}},
		{"attempt 9 caps the limit", append(url, ovfenv.KeyAttempt.Name, "9"), nil, func(t *testing.T, p *Plan) {
			if got := p.CallbackConfig("i").MaxElapsed; got != maxAttemptScale*callback.DefaultMaxElapsed {
				t.Errorf("MaxElapsed at attempt 9 = %v, want %v", got, maxAttemptScale*callback.DefaultMaxElapsed)
			}
		}},
		{"CA not base64", append(url, ovfenv.KeyCallbackCA.Name, "-----BEGIN CERTIFICATE-----"), []string{"property " + ovfenv.KeyCallbackCA.Name, "line 6", "not base64"}, nil},
		{"CA not PEM", append(url, ovfenv.KeyCallbackCA.Name, b64([]byte("hello"))), []string{"property " + ovfenv.KeyCallbackCA.Name, "no PEM certificate"}, nil},
		{"whsec_ secret not base64", append(url, ovfenv.KeyCallbackSecret.Name, "whsec_not base64"), []string{"property " + ovfenv.KeyCallbackSecret.Name, "base64"}, nil},
		{"bad pin", append(url, ovfenv.KeyCallbackPin.Name, "md5//abc"), []string{"property " + ovfenv.KeyCallbackPin.Name, "sha256//"}, nil},
		{"cert without key", append(url, ovfenv.KeyCallbackClientCert.Name, b64(cert)), []string{"property " + ovfenv.KeyCallbackClientCert.Name, "set both"}, nil},
		{"key of another cert", append(url, ovfenv.KeyCallbackClientCert.Name, b64(cert), ovfenv.KeyCallbackClientKey.Name, b64(otherKey)), []string{"property " + ovfenv.KeyCallbackClientCert.Name}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := planFrom(t, tt.props...)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("BuildPlan() = %v, want nil", err)
				}
				tt.check(t, p)
				return
			}
			if err == nil {
				t.Fatalf("BuildPlan() = nil, want an error mentioning %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("BuildPlan() = %q, want it to mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), b64(otherKey)[20:40]) {
				t.Errorf("BuildPlan() error repeats key material: %v", err)
			}
			if p.CallbackURL == "" {
				t.Errorf("BuildPlan() lost the callback URL: the failure could not be reported")
			}
		})
	}
}

// TestSecretNotInEvents boots with a callback secret and checks no event
// carries it.
func TestSecretNotInEvents(t *testing.T) {
	m := newMachine(t)
	xml := strings.Replace(fullEnv("i-secret"), "  </PropertySection>", `    <Property oe:key="ovfinit.callback.secret" oe:value="hunter2-very-secret"/>
  </PropertySection>`, 1)
	_, ev, err := m.boot(xml)
	if err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if ev.started == nil || string(ev.started.Secret) != "hunter2-very-secret" {
		t.Fatalf("callback started with %+v, want the secret", ev.started)
	}
	for _, e := range ev.events {
		if strings.Contains(e.Data.Message, "hunter2") {
			t.Errorf("event %s carries the secret: %+v", e.Type, e.Data)
		}
	}
	if len(ev.events) == 0 || ev.events[len(ev.events)-1].Type != callback.TypeReady {
		t.Errorf("last event is not ready: %v", ev.lines())
	}
}
