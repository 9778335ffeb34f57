package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/heraldci/herald/gerrit"
	"github.com/heraldci/herald/status"
)

// gerritTarget posts reviews on a Gerrit change. The simulated master is not
// fed by a Gerrit change source, so every build is taken to be about the
// change given with -gerrit-change, as if the source had set its properties.
type gerritTarget struct {
	change, project string
	ssh, url, user  string
	identity, known string
	perBuild        bool
}

func (g *gerritTarget) Flags(fs *flag.FlagSet) {
	home, _ := os.UserHomeDir()
	fs.StringVar(&g.change, "gerrit-change", "", "post reviews on this Gerrit change, as CHANGE,PATCHSET (enables Gerrit; needs -gerrit-ssh or -gerrit-url)")
	fs.StringVar(&g.project, "gerrit-project", "", "the change's Gerrit project")
	fs.StringVar(&g.ssh, "gerrit-ssh", "", "Gerrit's SSH daemon, HOST[:PORT] (port 29418 by default)")
	fs.StringVar(&g.url, "gerrit-url", "", "Gerrit's web address for the REST transport; the HTTP password is read from $GERRIT_HTTP_PASSWORD")
	fs.StringVar(&g.user, "gerrit-user", os.Getenv("USER"), "Gerrit account that posts the reviews")
	fs.StringVar(&g.identity, "gerrit-identity", "", "SSH private key file (default: the keys of ssh-agent)")
	fs.StringVar(&g.known, "gerrit-known-hosts", filepath.Join(home, ".ssh", "known_hosts"), "known_hosts file that lists Gerrit's SSH host key")
	fs.BoolVar(&g.perBuild, "gerrit-per-build", false, "also post a review per finished build (Buildbot's reviewCB), not only the build set summary")
}

func (g *gerritTarget) Start(ctx context.Context, d *demo) error {
	if g.change == "" {
		if g.ssh != "" || g.url != "" {
			return errors.New("-gerrit-ssh and -gerrit-url need -gerrit-change CHANGE,PATCHSET: the change to review")
		}
		return nil
	}
	cs, ps, ok := strings.Cut(g.change, ",")
	change, err1 := strconv.Atoi(cs)
	patchSet, err2 := strconv.Atoi(ps)
	if !ok || err1 != nil || err2 != nil {
		return fmt.Errorf("-gerrit-change %q: want CHANGE,PATCHSET, e.g. 4711,3", g.change)
	}
	o := gerrit.Options{Logger: d.log}
	if g.perBuild {
		o.Review, o.Summary = gerrit.DefaultReview, gerrit.DefaultSummary
	}
	switch {
	case g.ssh != "" && g.url != "":
		return errors.New("give -gerrit-ssh or -gerrit-url, not both")
	case g.ssh != "":
		host, port := g.ssh, 0
		if h, p, err := net.SplitHostPort(g.ssh); err == nil {
			host = h
			if port, err = strconv.Atoi(p); err != nil {
				return fmt.Errorf("-gerrit-ssh %q: bad port", g.ssh)
			}
		}
		o.SSH = &gerrit.SSH{Server: host, Port: port, Username: g.user, IdentityFile: g.identity,
			Agent: g.identity == "", KnownHosts: g.known}
	case g.url != "":
		o.REST = &gerrit.REST{BaseURL: g.url, Username: g.user, Password: status.Secret(os.Getenv("GERRIT_HTTP_PASSWORD"))}
	default:
		return errors.New("-gerrit-change needs -gerrit-ssh HOST[:PORT] or -gerrit-url URL")
	}
	r, err := gerrit.New(o)
	if err != nil {
		return err
	}
	props := map[string]any{"event.change.number": change, "event.patchSet.number": patchSet}
	if g.project != "" {
		props["event.change.project"] = g.project
	}
	kinds := status.Kinds(status.BuildStarted, status.BuildFinished, status.BuildSetFinished)
	d.hub.Add(status.Filter(asGerritChange(r, props), kinds), status.WithName("gerrit"))
	d.where("gerrit: reviews on change %d patch set %d via %s", change, patchSet, r)
	return nil
}

// asGerritChange gives every build the properties a Gerrit change source
// would have set, on copies: events are never modified.
func asGerritChange(r *gerrit.Reporter, props map[string]any) status.Reporter {
	withProps := func(b *status.Build) *status.Build {
		if b == nil {
			return nil
		}
		b = b.Clone()
		if b.Properties == nil {
			b.Properties = map[string]any{}
		}
		maps.Copy(b.Properties, props)
		return b
	}
	return status.ReporterFunc(func(ctx context.Context, e status.Event) error {
		e.Build = withProps(e.Build)
		if e.BuildSet != nil {
			bs := *e.BuildSet
			bs.Builds = make([]*status.Build, len(e.BuildSet.Builds))
			for i, b := range e.BuildSet.Builds {
				bs.Builds[i] = withProps(b)
			}
			e.BuildSet = &bs
		}
		return r.Report(ctx, e)
	})
}
