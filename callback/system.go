package callback

// The system protocol (docs/callbacks.md, "Systems of VMs"): a member of
// a system of VMs asks the manager whether the members it depends on are
// ready, and what they published; a script publishes values for the
// others. One POST per question, signed like the events (Standard
// Webhooks), and the answer signed back with the request's id, so neither
// side trusts an unsigned word of the other. The manager holds the state;
// members never talk to each other.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"time"
)

// SystemContentType is the Content-Type of the system protocol's requests
// and answers. A manager serving events and the system protocol on one
// URL tells them apart by it.
const SystemContentType = "application/vnd.ovfinit.system+json"

// The operations of a SystemRequest.
const (
	SystemQuery   = "query"   // which dependencies are ready, and every member's facts
	SystemPublish = "publish" // set a value of this instance's, then answer as for query
)

// Bounds of the system protocol. A manager refuses larger requests (413)
// or values (400); a member refuses a larger answer.
const (
	MaxSystemRequest  = 16 << 10 // bytes of a request body
	MaxSystemAnswer   = 1 << 20  // bytes of an answer body
	MaxSystemValueLen = 4096     // bytes of one published value
	MaxSystemValues   = 32       // values one instance may publish
	MaxSystemNameLen  = 64       // bytes of a member's or value's name
)

// SystemRequest is the body of a request.
type SystemRequest struct {
	// ID is unique per request (the webhook-id); a retry of a publish
	// repeats it, so the manager applies it once.
	ID       string `json:"id"`
	Instance string `json:"instance"` // the asking VM's instance id
	Op       string `json:"op"`       // SystemQuery or SystemPublish
	Name     string `json:"name,omitempty"`
	Value    string `json:"value,omitempty"`
}

// SystemAnswer is the body of the manager's answer (200) to either
// operation. Its ID is the request's: a member takes no answer signed for
// another request.
type SystemAnswer struct {
	ID      string         `json:"id"`
	Member  string         `json:"member"`            // the asking instance's member
	Ready   bool           `json:"ready"`             // every member Member depends on is ready
	Waiting []string       `json:"waiting,omitempty"` // the dependencies not ready yet, in the system file's order
	Members []SystemMember `json:"members"`
}

// SystemMember is one member of the system as the manager knows it.
type SystemMember struct {
	Name      string           `json:"name"`
	After     []string         `json:"after,omitempty"`
	Ready     bool             `json:"ready"` // as many instances ready as the member counts
	Instances []SystemInstance `json:"instances,omitempty"`
}

// SystemInstance is one VM of a member: what its ready event said and
// what its scripts published.
type SystemInstance struct {
	Instance  string            `json:"instance"`
	Ready     bool              `json:"ready"`
	Hostname  string            `json:"hostname,omitempty"`
	Addresses []string          `json:"addresses,omitempty"`
	SSHPort   int               `json:"sshPort,omitempty"`
	HostKeys  []HostKey         `json:"sshHostKeys,omitempty"`
	Values    map[string]string `json:"values,omitempty"`
}

// FindMember returns the member named name, or nil.
func (a *SystemAnswer) FindMember(name string) *SystemMember {
	for i := range a.Members {
		if a.Members[i].Name == name {
			return &a.Members[i]
		}
	}
	return nil
}

var systemName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// CheckSystemName says what is wrong with a member's or value's name: 1 to
// MaxSystemNameLen letters, digits, '_', '.' or '-', starting with a
// letter or digit.
func CheckSystemName(s string) error {
	if len(s) == 0 || len(s) > MaxSystemNameLen || !systemName.MatchString(s) {
		return fmt.Errorf("name %q: want 1 to %d letters, digits, '_', '.' or '-', starting with a letter or digit", Printable(s), MaxSystemNameLen)
	}
	return nil
}

// Errors of SystemClient.
var (
	// ErrNotMember is a 403 answer: the manager's system has no member
	// for this instance. Waiting longer will not change that.
	ErrNotMember = errors.New("system: the manager's system has no member for this instance (403)")
	// ErrSystemRefused is another 4xx: the manager will refuse the same
	// request again (a value too long, a bad name, a wrong secret).
	ErrSystemRefused = errors.New("system: the manager refused the request")
	// ErrSystemAnswer is an answer that is not signed for the request or
	// does not parse.
	ErrSystemAnswer = errors.New("system: bad answer from the manager")
)

// SystemClient asks the manager's system URL. The zero value is not
// usable; set URL and InstanceID.
type SystemClient struct {
	URL        string // ovfinit.system.url (default the callback URL)
	InstanceID string
	Secret     []byte // ovfinit.callback.secret; nil: requests and answers unsigned
	// HTTPClient does the requests; nil: one that follows no redirects,
	// with TLS's settings.
	HTTPClient *http.Client
	TLS        TLSOptions
	Timeout    time.Duration    // per request; DefaultRequestTimeout when zero
	MaxSkew    time.Duration    // of the answer's timestamp; DefaultMaxSkew when zero
	Now        func() time.Time // signs and checks; time.Now when nil
}

func (c *SystemClient) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *SystemClient) client() (*http.Client, error) {
	if c.HTTPClient != nil {
		return c.HTTPClient, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if !c.TLS.IsZero() {
		tc, err := c.TLS.Config()
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
	}
	c.HTTPClient = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return c.HTTPClient, nil
}

// NewSystemRequestID returns a random request id.
func NewSystemRequestID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "sys-" + hex.EncodeToString(b)
}

// Query asks which dependencies are ready and for every member's facts.
func (c *SystemClient) Query(ctx context.Context) (*SystemAnswer, error) {
	return c.Do(ctx, SystemRequest{ID: NewSystemRequestID(), Op: SystemQuery})
}

// Publish sets the value name of this instance at the manager, trying a
// few times (with the same request id, so it is applied once) while the
// manager cannot be reached.
func (c *SystemClient) Publish(ctx context.Context, name, value string) (*SystemAnswer, error) {
	if err := CheckSystemName(name); err != nil {
		return nil, err
	}
	if len(value) > MaxSystemValueLen {
		return nil, fmt.Errorf("value of %q: %d bytes, at most %d", name, len(value), MaxSystemValueLen)
	}
	req := SystemRequest{ID: NewSystemRequestID(), Op: SystemPublish, Name: name, Value: value}
	delay := 500 * time.Millisecond
	for try := 1; ; try++ {
		a, err := c.Do(ctx, req)
		if err == nil || try == 5 || errors.Is(err, ErrNotMember) || errors.Is(err, ErrSystemRefused) || ctx.Err() != nil {
			return a, err
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, err
		}
		delay *= 2
	}
}

// Do sends one request (its Instance is filled in) and returns the
// checked answer. The error never holds the URL's credentials.
func (c *SystemClient) Do(ctx context.Context, r SystemRequest) (*SystemAnswer, error) {
	hc, err := c.client()
	if err != nil {
		return nil, err
	}
	r.Instance = c.InstanceID
	body, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("system: building request: %w", unwrapURL(err))
	}
	req.Header.Set("Content-Type", SystemContentType)
	req.Header.Set("User-Agent", "ovfinit")
	if c.Secret != nil {
		SignRequest(req.Header, c.Secret, r.ID, body, c.now())
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("system: POST: %w", unwrapURL(err))
	}
	defer resp.Body.Close()
	ans, err := io.ReadAll(io.LimitReader(resp.Body, MaxSystemAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("system: reading the answer: %w", unwrapURL(err))
	}
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
	case code == http.StatusForbidden:
		return nil, ErrNotMember
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		return nil, fmt.Errorf("system: HTTP %d", code)
	default:
		return nil, fmt.Errorf("%w: HTTP %d", ErrSystemRefused, code)
	}
	if len(ans) > MaxSystemAnswer {
		return nil, fmt.Errorf("%w: over %d bytes", ErrSystemAnswer, MaxSystemAnswer)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != SystemContentType {
		return nil, fmt.Errorf("%w: Content-Type %q, want %s", ErrSystemAnswer, Printable(resp.Header.Get("Content-Type")), SystemContentType)
	}
	if c.Secret != nil {
		id, err := Verify(c.Secret, resp.Header, ans, c.now(), c.MaxSkew)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSystemAnswer, err)
		}
		if id != r.ID {
			return nil, fmt.Errorf("%w: signed for request %q, not %q", ErrSystemAnswer, Printable(id), r.ID)
		}
	}
	var a SystemAnswer
	if err := json.Unmarshal(ans, &a); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSystemAnswer, err)
	}
	if a.ID != r.ID {
		return nil, fmt.Errorf("%w: answers request %q, not %q", ErrSystemAnswer, Printable(a.ID), r.ID)
	}
	return &a, nil
}

// unwrapURL drops url.Error's copy of the URL, which may hold credentials.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
