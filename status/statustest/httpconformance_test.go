package statustest_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"testing"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// poster is the smallest well-behaved HTTP target: one POST per finished
// build, errors classified by status.
type poster struct {
	url   string
	token status.Secret
	log   *slog.Logger
}

func (p *poster) Report(ctx context.Context, e status.Event) error {
	if e.Kind != status.BuildFinished {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url+"/builds", strings.NewReader(e.Build.Summary()))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+p.token.Reveal())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return status.ClassifyNetError(err)
	}
	defer resp.Body.Close()
	err = status.ClassifyResponse(resp)
	if err != nil {
		p.log.Warn("post failed", "err", err)
	}
	return err
}

// String keeps the token out of %v and %s: fmt cannot call the Secret's
// own String on an unexported field.
func (p *poster) String() string   { return "poster " + p.url }
func (p *poster) GoString() string { return p.String() }

func TestHTTPConformance(t *testing.T) {
	statustest.HTTPConformance(t, statustest.HTTPTarget{
		New: func(baseURL string, log *slog.Logger) status.Reporter {
			return &poster{url: baseURL, token: "s3cret-token", log: log}
		},
		Secrets: []string{"s3cret-token"},
	})
}
