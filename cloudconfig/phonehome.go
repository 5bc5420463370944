package cloudconfig

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// PhoneHomeRetry is the pause between phone_home tries (cloud-init's).
var PhoneHomeRetry = 3 * time.Second

// PostPhoneHome posts the fields ph.Post names, from values (pub_key_ed25519,
// instance_id, hostname, ...), form-encoded to ph.URL with $INSTANCE_ID
// replaced, as cloud-init's phone_home does; up to ph.Tries times. A field
// with no value (no RSA host key, say) is posted as "N/A", as cloud-init
// does.
func PostPhoneHome(ctx context.Context, client *http.Client, ph *PhoneHome, values map[string]string) error {
	form := url.Values{}
	for _, k := range ph.Post {
		v := values[k]
		if v == "" {
			v = "N/A"
		}
		form.Set(k, v)
	}
	u := strings.ReplaceAll(ph.URL, "$INSTANCE_ID", url.PathEscape(values["instance_id"]))
	var last error
	for try := 1; try <= max(ph.Tries, 1); try++ {
		if try > 1 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(PhoneHomeRetry):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
		if err != nil {
			return fmt.Errorf("phone_home: %w", err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := client.Do(req)
		if err != nil {
			last = err
			continue
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			return nil
		}
		last = fmt.Errorf("%s", resp.Status)
	}
	return fmt.Errorf("phone_home (user-data line %d): %d tries: %w", ph.Line, max(ph.Tries, 1), last)
}
