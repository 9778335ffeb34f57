package gerrit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	gogerrit "github.com/andygrunwald/go-gerrit"

	"github.com/heraldci/herald/status"
)

// REST configures the REST transport: POST
// /a/changes/{change}/revisions/{revision}/review with HTTP basic
// authentication.
type REST struct {
	// BaseURL is Gerrit's web address, with its path prefix if it is
	// served under one: "https://review.example.org/" or
	// "https://example.org/gerrit/" (required).
	BaseURL  string
	Username string        // the Gerrit account (required)
	Password status.Secret // its HTTP password (Settings → HTTP Credentials) (required)
	// Client is the HTTP client; default a client without a timeout of
	// its own (the Reporter bounds each review with Options.Timeout).
	Client *http.Client
}

type restTransport struct {
	client *gogerrit.Client
	base   string
	user   string
	tag    string
	notify Notify
}

func newRESTTransport(o *REST, tag string, notify Notify) (*restTransport, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("gerrit: "+format, args...)) }
	u, err := url.Parse(o.BaseURL)
	switch {
	case o.BaseURL == "":
		bad("REST.BaseURL is empty: set Gerrit's web address, e.g. https://review.example.org/")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		bad("REST.BaseURL %q is not an http(s) URL: want e.g. https://review.example.org/", o.BaseURL)
	case u.User != nil:
		bad("REST.BaseURL contains credentials: put them in REST.Username and REST.Password")
	case u.RawQuery != "" || u.Fragment != "":
		bad("REST.BaseURL %q has a query or fragment: give the base address only", o.BaseURL)
	}
	if o.Username == "" {
		bad("REST.Username is empty: set the Gerrit account that posts reviews")
	}
	if o.Password.IsZero() {
		bad("REST.Password is empty: set the account's HTTP password (Gerrit: Settings → HTTP Credentials)")
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	hc := o.Client
	if hc == nil {
		hc = &http.Client{}
	}
	// Credentials are set below, not put in the URL: NewClient would then
	// probe the server (and try digest and cookie auth) before any review.
	c, err := gogerrit.NewClient(context.Background(), u.String(), hc)
	if err != nil {
		return nil, fmt.Errorf("gerrit: REST.BaseURL: %w", err)
	}
	c.Authentication.SetBasicAuth(o.Username, o.Password.Reveal())
	return &restTransport{client: c, base: strings.TrimSuffix(u.String(), "/"), user: o.Username, tag: tag, notify: notify}, nil
}

func (t *restTransport) String() string { return t.base + " as " + t.user }

func (t *restTransport) post(ctx context.Context, tg target, rv Review) error {
	change, revision, err := tg.restIDs()
	if err != nil {
		return err
	}
	in := &gogerrit.ReviewInput{
		Message: cleanText(rv.Message),
		Tag:     t.tag,
		Labels:  rv.Labels,
		Notify:  string(t.notify),
	}
	_, resp, err := t.client.Changes.SetReview(ctx, change, revision, in)
	if resp != nil && resp.Body != nil {
		// go-gerrit leaves the body of a failed response open.
		defer func() {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			_ = resp.Body.Close()
		}()
	}
	switch {
	case err == nil:
		return nil
	case resp == nil:
		return status.ClassifyNetError(err)
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		// Posted; only the answer did not decode. Retrying would post twice.
		return nil
	}
	return t.statusError(resp.Response, tg)
}

// statusError classifies a failed response: 5xx and 429 may pass (ClassifyResponse
// also honours Retry-After); 401 and 403 are credentials or permissions;
// 404 an unknown change; 409 (change closed) and 400 (bad label) are
// permanent, with Gerrit's text/plain reason.
func (t *restTransport) statusError(resp *http.Response, tg target) error {
	err := status.ClassifyResponse(resp)
	if status.IsRetryable(err) {
		return err
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return fmt.Errorf("%w: Gerrit at %s refused the HTTP password of %q (%v): check REST.Username and REST.Password (Settings → HTTP Credentials)", ErrAuth, t.base, t.user, err)
	case http.StatusForbidden:
		return fmt.Errorf("%w: %q may not review %s (%v): grant the account the label permissions on the project", ErrAuth, t.user, tg, err)
	case http.StatusNotFound:
		return fmt.Errorf("%w: %v", status.ErrNotFound, err)
	}
	return err
}
