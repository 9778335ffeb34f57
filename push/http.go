package push

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/heraldci/herald/status"
)

// Format is the body of the requests to Options.URL (HttpStatusPush).
type Format int

const (
	// Form posts application/x-www-form-urlencoded with packets=<JSON array>
	// and the ExtraPostParams: Buildbot 0.8.12's format, so its receivers
	// keep working.
	Form Format = iota
	// JSON posts the JSON array itself, as application/json.
	JSON
)

func (f Format) String() string {
	if f == JSON {
		return "json"
	}
	return "form"
}

// newHTTPTransport POSTs to o.URL, which validate accepted.
func newHTTPTransport(o *Options) *httpTransport {
	u, _ := url.Parse(o.URL)
	t := &httpTransport{url: u.String(), format: o.Format, auth: o.Authorization, header: o.Header.Clone(),
		client: o.Client, agent: o.UserAgent}
	if t.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = o.TLS
		t.client = &http.Client{Transport: tr, Timeout: orDefault(o.Timeout, 30*time.Second)}
		t.own = true
	}
	if t.agent == "" {
		t.agent = "herald-push"
	}
	if len(o.ExtraPostParams) > 0 {
		t.extra = "&" + o.ExtraPostParams.Encode()
	}
	if o.Name == "" {
		o.Name = "push " + u.Host
	}
	return t
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

type httpTransport struct {
	url    string
	format Format
	extra  string // "&k=v..." for Form
	auth   status.Secret
	header http.Header
	client *http.Client
	agent  string
	own    bool // client is ours: Close closes its idle connections
}

func (t *httpTransport) close() {
	if t.own {
		t.client.CloseIdleConnections()
	}
}

const formKey = "packets="

// A Form body is packets= + the query-escaped JSON array + extra: every
// packet adds its escaped length and an escaped comma ("%2C"); the
// brackets ("%5B", "%5D") and key make the base, less the first comma.
func (t *httpTransport) base() int {
	if t.format == JSON {
		return 1
	}
	return len(formKey) + 3 + len(t.extra)
}

func (t *httpTransport) cost(data []byte) int {
	if t.format == JSON {
		return len(data) + 1
	}
	return escapedLen(data) + 3
}

// escapedLen is len(url.QueryEscape(string(b))) without building it.
func escapedLen(b []byte) int {
	n := 0
	for _, c := range b {
		if shouldEscape(c) {
			n += 3
		} else {
			n++
		}
	}
	return n
}

// shouldEscape mirrors url.QueryEscape: letters, digits, '-', '_', '.',
// '~' stay, ' ' becomes '+', everything else %XX.
func shouldEscape(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return false
	case c == '-' || c == '_' || c == '.' || c == '~' || c == ' ':
		return false
	}
	return true
}

const upperhex = "0123456789ABCDEF"

func (t *httpTransport) body(batch []rec, size int) []byte {
	b := make([]byte, 0, size)
	if t.format == JSON {
		b = append(b, '[')
		for i, r := range batch {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, r.data...)
		}
		return append(b, ']')
	}
	b = append(b, formKey...)
	b = append(b, "%5B"...)
	for i, r := range batch {
		if i > 0 {
			b = append(b, "%2C"...)
		}
		for _, c := range r.data {
			switch {
			case c == ' ':
				b = append(b, '+')
			case shouldEscape(c):
				b = append(b, '%', upperhex[c>>4], upperhex[c&15])
			default:
				b = append(b, c)
			}
		}
	}
	b = append(b, "%5D"...)
	return append(b, t.extra...)
}

func (t *httpTransport) send(ctx context.Context, batch []rec, size int) error {
	body := t.body(batch, size)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	for k, vs := range t.header {
		req.Header[k] = vs
	}
	if t.format == JSON {
		req.Header.Set("Content-Type", "application/json")
	} else {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", t.agent)
	if !t.auth.IsZero() {
		req.Header.Set("Authorization", t.auth.Reveal())
	}
	resp, err := t.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("push: POST %s: %w", t.url, ctx.Err())
		}
		return status.ClassifyNetError(fmt.Errorf("push: POST %s: %w", t.url, stripURLError(err)))
	}
	defer resp.Body.Close()
	defer io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection reusable
	if resp.StatusCode == http.StatusRequestEntityTooLarge {
		return fmt.Errorf("push: POST %s with %d packets (%d bytes): %w", t.url, len(batch), len(body), ErrTooLarge)
	}
	if err := status.ClassifyResponse(resp); err != nil {
		return fmt.Errorf("push: POST %s: %w", t.url, err)
	}
	return nil
}

// stripURLError drops *url.Error's copy of the method and URL, which the
// message already has.
func stripURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && !strings.Contains(ue.Err.Error(), ue.URL) {
		return ue.Err
	}
	return err
}
