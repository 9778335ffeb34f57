package mail

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// Buildbot 0.8.12's subject strings work as written.
func TestInterpolatePlainKeys(t *testing.T) {
	b := statustest.NewBuild("linux").Number(7).Branch("main").Property("owner", "alice").Failed().Build()
	kw := map[string]string{"builder": "linux", "result": "failure", "title": "Herald", "projectName": "Herald", "number": "7"}
	for _, tc := range []struct{ format, want string }{
		{"buildbot %(result)s in %(title)s on %(builder)s", "buildbot failure in Herald on linux"},
		{"%(projectName)s: %(builder)s #%(kw:number)s", "Herald: linux #7"},
		{"100%% %(result)s", "100% failure"},
		{"%(prop:owner)s broke %(builder)s", "alice broke linux"},
		{"%(prop:nobody:-%(builder)s)s", "linux"}, // plain keys inside a modifier
		{"%(src::branch)s", "main"},
		{"no keys at all", "no keys at all"},
	} {
		tpl, err := Interpolate(tc.format)
		require.NoError(t, err, tc.format)
		assert.Equal(t, tc.want, tpl.Render(b, kw), tc.format)
	}
	_, err := Interpolate("%(buidler)s failed")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unknown key %(buidler)s")
	assert.Contains(t, err.Error(), "builder, result, title, projectName")
	_, err = Interpolate("%(prop:x")
	assert.ErrorContains(t, err, "mail: template")
}

func TestSubjectAsBuildbotWroteIt(t *testing.T) {
	rec := &recorder{}
	n, err := New(Options{From: "ci@example.org", ExtraRecipients: []string{"l@example.org"}, Sender: rec, Title: "Proj",
		Subject: MustInterpolate("buildbot %(result)s in %(projectName)s on %(builder)s")})
	require.NoError(t, err)
	require.NoError(t, n.Report(context.Background(), finished(statustest.NewBuild("linux").Failed().Build())))
	require.Len(t, rec.all(), 1)
	assert.Equal(t, "buildbot failure in Proj on linux", rec.all()[0].Message.Subject)
}

// ExtraHeaders names may be templates, like Buildbot's Interpolate keys.
func TestExtraHeaderNameTemplates(t *testing.T) {
	logs := &testkit.Buffer{}
	rec := &recorder{}
	n, err := New(Options{From: "ci@example.org", ExtraRecipients: []string{"l@example.org"}, Sender: rec, Logger: newLogger(logs),
		ExtraHeaders: map[string]status.Renderer{
			"X-Herald-%(builder)s":      MustInterpolate("%(result)s"),
			"%(prop:header:-)s":         MustInterpolate("dropped when the property renders no name"),
			"X-Static":                  status.MustInterpolate("%(prop:buildnumber)s"),
			"X-Owner-%(prop:owner:-x)s": status.RenderFunc(func(b *status.Build) string { return b.Builder }),
		}})
	require.NoError(t, err)
	b := statustest.NewBuild("linux").Number(3).Property("owner", "bad name").Failed().Build()
	require.NoError(t, n.Report(context.Background(), finished(b)))
	require.Len(t, rec.all(), 1)
	got := map[string]string{}
	for _, h := range rec.all()[0].Message.Headers {
		got[h.Name] = h.Value
	}
	assert.Equal(t, map[string]string{"X-Herald-linux": "failure", "X-Static": "3"}, got)
	assert.Contains(t, logs.String(), "leaving out an extra header")
	assert.Contains(t, logs.String(), `X-Owner-%(prop:owner:-x)s`)
}

// A webhook's author line chooses nobody's recipients outside the
// configured domains (issue: webhook authors choose mail recipients).
func TestRecipientDomains(t *testing.T) {
	h := statustest.NewHistory()
	h.AddUser(status.User{Name: "dave", Email: "dave@contractor.example"})
	b := statustest.NewBuild("linux").Blame(
		"Alice <alice@example.org>",          // in the domain
		"Mallory <mallory@evil.example>",     // outside: never mailed by default
		"Sub <sub@eu.example.org>",           // a subdomain
		"Spoof <x@example.org.evil.example>", // looks like it, is not
		"bob",                                // a bare name: @Domain
		"dave",                               // History's user: the host's own data
	).Failed().Build()
	for _, tc := range []struct {
		name  string
		o     Options
		to    string
		warns bool
	}{
		{"Domain", Options{Domain: "example.org"},
			"alice@example.org sub@eu.example.org bob@example.org dave@example.org", true},
		{"default: the domain of From", Options{History: h},
			"alice@example.org sub@eu.example.org dave@contractor.example", true},
		{"more domains", Options{Domain: "example.org", RecipientDomains: []string{"evil.example"}},
			"alice@example.org mallory@evil.example sub@eu.example.org x@example.org.evil.example bob@example.org dave@example.org", false},
		{"any domain, asked for", Options{Domain: "example.org", AnyRecipientDomain: true},
			"alice@example.org mallory@evil.example sub@eu.example.org x@example.org.evil.example bob@example.org dave@example.org", false},
		{"a lookup's answers are checked too", Options{Lookup: func(_ context.Context, u string) (string, error) {
			return domainAddress(u, "example.org"), nil
		}}, "alice@example.org sub@eu.example.org bob@example.org dave@example.org", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, logs := &recorder{}, &testkit.Buffer{}
			tc.o.From, tc.o.Sender, tc.o.Logger = "ci@example.org", rec, newLogger(logs)
			n, err := New(tc.o)
			require.NoError(t, err)
			require.NoError(t, n.Report(context.Background(), finished(b)))
			require.Len(t, rec.all(), 1)
			assert.Equal(t, tc.to, addrs(rec.all()[0].Message.To))
			assert.NotContains(t, rec.all()[0].To, "evil", "envelope")
			if tc.warns {
				assert.Contains(t, logs.String(), "mallory@evil.example")
				assert.Contains(t, logs.String(), "outside the recipient domains")
			} else {
				assert.NotContains(t, logs.String(), "outside the recipient domains")
			}
		})
	}
}

func TestHandlesDeclaredKinds(t *testing.T) {
	n, err := New(Options{From: "ci@example.org"})
	require.NoError(t, err)
	summary, err := New(Options{From: "ci@example.org", BuildSetSummary: true})
	require.NoError(t, err)
	for k := status.Kind(1); k < 64; k++ {
		assert.Equal(t, k == status.BuildFinished, n.Handles(k), "%v", k)
		assert.Equal(t, k == status.BuildSetFinished, summary.Handles(k), "summary %v", k)
	}
}

func TestLastLinesHeading(t *testing.T) {
	for _, tc := range []struct {
		lines int
		want  string
	}{{1, "Last line of test.stdio"}, {3, "Last 3 lines of test.stdio"}} {
		h := statustest.NewHistory()
		b := failingBuild(h, 7)
		o := goldenOptions(h)
		o.LogLines = tc.lines
		m := composeFor(t, o, b)
		assert.Contains(t, m.Text, tc.want)
		assert.Contains(t, m.HTML, ">test.stdio</a></h4>")
		assert.Contains(t, m.HTML, "<h4>"+tc.want[:len(tc.want)-len(" of test.stdio")])
	}
}
