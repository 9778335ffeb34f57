package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/heraldci/herald/gitlab"
	"github.com/heraldci/herald/gitlab/gitlabtest"
	"github.com/heraldci/herald/status"
)

// gitlabTarget sets commit statuses on GitLab, or on an in-process
// stand-in of its API (-gitlab-api local).
type gitlabTarget struct{ api, tokenFile string }

func (g *gitlabTarget) Flags(fs *flag.FlagSet) {
	fs.StringVar(&g.api, "gitlab-api", "", `GitLab instance URL for commit statuses (https://gitlab.com), or "local" for an in-process API double`)
	fs.StringVar(&g.tokenFile, "gitlab-token-file", "", "file holding a GitLab access token (api scope)")
}

func (g *gitlabTarget) Start(ctx context.Context, d *demo) error {
	o := gitlab.Options{BaseURL: g.api, Logger: d.log}
	double := gitlabtest.New(gitlabtest.Options{Token: "demo-token"})
	var err error
	o.BaseURL, o.Token, err = forgeAPI(d, "gitlab", g.api, g.tokenFile, double, func() []string {
		return requestLines(double.Requests(), func(r gitlabtest.Request) (string, string, int, []byte) {
			return r.Method, r.Path, r.Code, r.Body
		})
	}, double.Problems)
	if err != nil || o.BaseURL == "" {
		return err
	}
	r, err := gitlab.New(o)
	if err != nil {
		return err
	}
	d.hub.Add(r)
	return nil
}

// forgeAPI reads the flags of a forge target: api is "" (the target is
// off), "local" (the double h is served and its address returned), or the
// forge's address, which needs the token in tokenFile.
func forgeAPI(d *demo, name, api, tokenFile string, h http.Handler, list, problems func() []string) (string, status.Secret, error) {
	switch {
	case api == "" && tokenFile != "":
		return "", "", fmt.Errorf("-%s-token-file needs the forge's address", name)
	case api == "":
		return "", "", nil
	case api == "local":
		url, err := startAPIDouble(d, name, h, list, problems)
		d.where("%s: statuses to a local API double, listed at %s/", name, url)
		return url, "demo-token", err
	case tokenFile == "":
		return "", "", errors.New("a " + name + " address needs -" + name + "-token-file (or use local)")
	}
	b, err := os.ReadFile(tokenFile)
	if err != nil {
		return "", "", fmt.Errorf("-%s-token-file: %w", name, err)
	}
	d.where("%s: statuses to %s", name, api)
	return api, status.Secret(strings.TrimSpace(string(b))), nil
}

// requestLines renders a double's requests for its page: time is left out,
// the doubles' requests differ in type only.
func requestLines[R any](reqs []R, f func(R) (method, path string, code int, body []byte)) []string {
	out := make([]string, 0, len(reqs))
	for _, r := range reqs {
		method, path, code, body := f(r)
		out = append(out, fmt.Sprintf("%s %s -> %d %s", method, path, code, body))
	}
	return out
}
