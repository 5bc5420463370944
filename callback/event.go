package callback

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Event types. Every step produces a started and a finished event; a boot
// ends with exactly one ready or failed event.
const (
	TypeStepStarted  = "org.ovfinit.step.started"
	TypeStepFinished = "org.ovfinit.step.finished"
	TypeReady        = "org.ovfinit.ready"
	TypeFailed       = "org.ovfinit.failed"

	// TypeProgress is a script's progress() call: the step is the one
	// running, the message starts with the script's own percent ("40% ...");
	// data.percent stays the whole boot's.
	TypeProgress = "org.ovfinit.progress"

	// Lifecycle events, sent by `ovfinit reserve` and `ovfinit sanitize`
	// (docs/lifecycle.md). Data.Message names the users; it holds no secret.
	TypeReserved  = "org.ovfinit.reserved"
	TypeSanitized = "org.ovfinit.sanitized"

	// TypeLogin is sent for every SSH login to the embedded server; the
	// message says who, from where and with which key fingerprint (never
	// a secret). `sanitize --if-no-login` relies on logins.
	TypeLogin = "org.ovfinit.login"
)

// Types lists every event type, in the order of the schema's enum.
var Types = []string{TypeStepStarted, TypeStepFinished, TypeReady, TypeFailed, TypeProgress, TypeReserved, TypeSanitized, TypeLogin}

// Values of Data.Status on step events.
const (
	StatusStarted = "started"
	StatusOK      = "ok"
	StatusSkipped = "skipped"
	StatusFailed  = "failed"
)

// Values of Data.Result on ready and failed events.
const (
	ResultReady = "ready" // the VM is configured and reachable
	ResultRetry = "retry" // failed; retrying the deployment may help
	ResultFatal = "fatal" // failed; retrying the same deployment will not help
)

// SpecVersion is the CloudEvents version of every event.
const SpecVersion = "1.0"

// ContentType is the Content-Type of every request: CloudEvents structured
// mode, JSON format.
const ContentType = "application/cloudevents+json"

// HostKey is one SSH host key of the VM, reported on the ready event so the
// manager can pin it.
type HostKey struct {
	Type        string `json:"type"`        // "ssh-ed25519", "ecdsa-sha2-nistp256", ...
	Fingerprint string `json:"fingerprint"` // "SHA256:..." as ssh-keygen -l prints it
	// Key is the public key as in known_hosts and authorized_keys, without
	// a comment: "ssh-ed25519 AAAA...". A manager checks it against
	// Fingerprint and writes the known_hosts line of the VM from it.
	Key string `json:"key,omitempty"`
}

// Data is the "data" member of an event. The caller decides what goes in;
// it must never hold a secret (password, private key, token, script body):
// events travel to the manager and end up in its logs.
type Data struct {
	InstanceID string `json:"instanceId"`
	Attempt    int    `json:"attempt,omitempty"`
	Boot       string `json:"boot,omitempty"`

	Step       string `json:"step,omitempty"`
	Status     string `json:"status,omitempty"`  // StatusStarted, StatusOK, StatusSkipped, StatusFailed
	Percent    int    `json:"percent,omitempty"` // how far the boot has come, 0-100
	Message    string `json:"message,omitempty"`
	DurationMS int64  `json:"durationMs,omitempty"`

	Result string `json:"result,omitempty"` // ResultReady, ResultRetry, ResultFatal
	Retry  *bool  `json:"retry,omitempty"`  // on failed: whether retrying the deployment could help

	Hostname    string    `json:"hostname,omitempty"`
	Addresses   []string  `json:"addresses,omitempty"`
	SSHPort     int       `json:"sshPort,omitempty"`
	SSHHostKeys []HostKey `json:"sshHostKeys,omitempty"`
}

// Event is one CloudEvents 1.0 event as sent in structured JSON mode.
// Sequence is the "sequence" extension attribute: 1, 2, 3, ... per boot.
type Event struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            string    `json:"type"`
	Time            time.Time `json:"time"`
	Sequence        Sequence  `json:"sequence"`
	DataContentType string    `json:"datacontenttype"`
	Data            Data      `json:"data"`
}

// SequenceWidth is the number of digits of an encoded Sequence.
const SequenceWidth = 10

// Sequence is the CloudEvents "sequence" extension attribute. The extension
// makes it a String that orders lexicographically, so it is encoded as a
// decimal zero-padded to SequenceWidth digits: "0000000007". Decoding also
// accepts a bare JSON number, as ovfinit sent before.
type Sequence int64

// MarshalJSON encodes s as a zero-padded decimal string.
func (s Sequence) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, `"%0*d"`, SequenceWidth, int64(s)), nil
}

// UnmarshalJSON accepts "0000000007", "7" and 7.
func (s *Sequence) UnmarshalJSON(b []byte) error {
	str := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
	}
	n, err := strconv.ParseInt(str, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("sequence %s: not a whole number", b)
	}
	*s = Sequence(n)
	return nil
}
