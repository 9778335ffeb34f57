package mail

import (
	"context"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// The MailNotifier examples of Buildbot 0.8.12's manual
// (spec/buildbot-0.8.12-status-targets.txt), transcribed to Go with their
// strings, sent through mailpit, and checked against what the manual says
// they do. Only the relay differs: mailpit on loopback stands in for
// localhost:25 and smtp.gmail.com:587.

// migrationBuild is a build of developer alice's change, as a Subversion
// master would describe it (a bare user name, no address).
func migrationBuild(h *statustest.History, number int, r status.Result) *status.Build {
	b := statustest.NewBuild("linux").Number(number).Worker("slave1").Reason("scheduler").
		URL(fmt.Sprintf("https://ci.example.org/builders/linux/builds/%d", number)).
		Change(status.Change{ID: int64(number), Author: "alice", Revision: fmt.Sprint(1000 + number), Repository: "svn://svn.example.org/repo",
			Project: "example", Comments: "fix the frobnicator", Files: []string{"frob.c"}, When: statustest.Epoch}).
		Revision(fmt.Sprint(1000+number)).Step("compile", status.Success).Step("test", r).Result(r).Build()
	for _, s := range b.Steps {
		for _, l := range s.Logs {
			var text strings.Builder
			for i := 1; i <= 100; i++ {
				fmt.Fprintf(&text, "%s output line %d\n", s.Name, i)
			}
			h.SetLog(l, text.String())
		}
	}
	h.AddBuild(b)
	return b
}

func TestMigrationMailNotifierExamples(t *testing.T) {
	mp := startMailpit(t)
	relay := func(o Options) Options { // relayhost="localhost", smtpPort=25 in Buildbot
		o.RelayHost, o.Port, o.Timeout, o.Logger = mp.SMTPHost, mp.SMTPPort, 10*time.Second, newLogger(&testkit.Buffer{})
		return o
	}
	ctx := context.Background()
	h := statustest.NewHistory()
	sent := 0
	next := func(t *testing.T) mpMessage {
		sent++
		return mp.messages(t, sent)[sent-1]
	}
	addresses := func(as []mpAddr) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.Address)
		}
		return out
	}

	t.Run("interested users through lookup", func(t *testing.T) {
		// mn = status.MailNotifier(fromaddr="buildbot@example.org", lookup="example.org")
		mn, err := New(relay(Options{From: "buildbot@example.org", Domain: "example.org", History: h}))
		require.NoError(t, err)
		// "send an email upon the completion of each build, to just those
		// developers whose Changes were included in the build"
		require.NoError(t, mn.Report(ctx, finished(migrationBuild(h, 1, status.Success))))
		m := next(t)
		assert.Equal(t, "buildbot@example.org", m.From.Address)
		assert.Equal(t, []string{"alice@example.org"}, addresses(m.To))
		assert.Empty(t, m.Cc)
		assert.Contains(t, m.Text, "https://ci.example.org/builders/linux/builds/1", "URLs where more information can be obtained")
		assert.Contains(t, m.Text, "Build succeeded!")
	})

	t.Run("mailing list only", func(t *testing.T) {
		// mn = status.MailNotifier(fromaddr="buildbot@example.org",
		//                          sendToInterestedUsers=False,
		//                          extraRecipients=['listaddr@example.org'])
		mn, err := New(relay(Options{From: "buildbot@example.org", SkipInterestedUsers: true,
			ExtraRecipients: []string{"listaddr@example.org"}}))
		require.NoError(t, err)
		require.NoError(t, mn.Report(ctx, finished(migrationBuild(h, 2, status.Failure))))
		m := next(t)
		assert.Equal(t, []string{"listaddr@example.org"}, addresses(m.To), "only ever sends mail to the extra recipients")
		assert.Empty(t, m.Cc)
	})

	t.Run("subject as 0.8.12 wrote it", func(t *testing.T) {
		// subject="buildbot %(result)s in %(title)s on %(builder)s" (M4)
		mn, err := New(relay(Options{From: "buildbot@example.org", SkipInterestedUsers: true, ExtraRecipients: []string{"listaddr@example.org"},
			Title: "Example", Subject: MustInterpolate("buildbot %(result)s in %(title)s on %(builder)s")}))
		require.NoError(t, err)
		require.NoError(t, mn.Report(ctx, finished(migrationBuild(h, 3, status.Failure))))
		assert.Equal(t, "buildbot failure in Example on linux", next(t).Subject)
	})

	t.Run("extraHeaders with Interpolate keys and values", func(t *testing.T) {
		// extraHeaders={"X-Buildbot-Builder": Interpolate("%(prop:buildername)s"),
		//               Interpolate("X-Buildbot-%(prop:buildername)s"): Interpolate("#%(prop:buildnumber)s")} (M14)
		mn, err := New(relay(Options{From: "buildbot@example.org", SkipInterestedUsers: true, ExtraRecipients: []string{"listaddr@example.org"},
			ExtraHeaders: map[string]status.Renderer{
				"X-Buildbot-Builder":              MustInterpolate("%(prop:buildername)s"),
				"X-Buildbot-%(prop:buildername)s": MustInterpolate("#%(prop:buildnumber)s"),
			}}))
		require.NoError(t, err)
		require.NoError(t, mn.Report(ctx, finished(migrationBuild(h, 4, status.Failure))))
		var headers map[string][]string
		mp.getJSON(t, "/message/"+next(t).ID+"/headers", &headers)
		assert.Equal(t, []string{"linux"}, headers["X-Buildbot-Builder"])
		assert.Equal(t, []string{"#4"}, headers["X-Buildbot-Linux"], "header names are canonicalised by mailpit")
	})

	t.Run("short messages for phones", func(t *testing.T) {
		// def messageFormatter(mode, name, build, results, master_status):
		//     result = util.Results[results]
		//     text = list()
		//     text.append("STATUS: %s" % result.title())
		//     return {'body' : "\n".join(text), 'type' : 'plain'}
		// mn = status.MailNotifier(fromaddr="buildbot@example.org", sendToInterestedUsers=False,
		//                          mode=('problem',), extraRecipients=['listaddr@example.org'],
		//                          messageFormatter=messageFormatter)
		messageFormatter := func(_ context.Context, in *FormatInput) (*Content, error) {
			result := in.ResultString()
			text := []string{"STATUS: " + strings.ToUpper(result[:1]) + result[1:]}
			return &Content{Text: strings.Join(text, "\n")}, nil
		}
		mode, err := ParseMode("problem")
		require.NoError(t, err)
		mn, err := New(relay(Options{From: "buildbot@example.org", SkipInterestedUsers: true, Mode: mode,
			ExtraRecipients: []string{"listaddr@example.org"}, MessageFormatter: messageFormatter, History: h}))
		require.NoError(t, err)
		// problem: "a build which failed when the previous build has passed"
		require.NoError(t, mn.Report(ctx, finished(migrationBuild(h, 5, status.Success))))
		require.NoError(t, mn.Report(ctx, finished(migrationBuild(h, 6, status.Failure))))
		require.NoError(t, mn.Report(ctx, finished(migrationBuild(h, 7, status.Failure))))
		m := next(t)
		assert.Equal(t, "STATUS: Failure", strings.TrimSpace(m.Text))
		assert.Empty(t, m.HTML, "type plain")
		assert.True(t, strings.HasPrefix(contentType(t, mp, m), "text/plain"), "type plain: %s", contentType(t, mp, m))
		assert.Contains(t, m.Subject, "#6")
	})

	t.Run("html message with the last 80 log lines", func(t *testing.T) {
		// def html_message_formatter(mode, name, build, results, master_status): ... (the manual's
		// second example, transcribed below with its strings)
		// mn = status.MailNotifier(fromaddr="buildbot@example.org", sendToInterestedUsers=False,
		//                          mode=('failing',), extraRecipients=['listaddr@example.org'],
		//                          messageFormatter=html_message_formatter)
		mode, err := ParseMode("failing")
		require.NoError(t, err)
		mn, err := New(relay(Options{From: "buildbot@example.org", SkipInterestedUsers: true, Mode: mode,
			ExtraRecipients: []string{"listaddr@example.org"}, MessageFormatter: htmlMessageFormatter, History: h}))
		require.NoError(t, err)
		require.NoError(t, mn.Report(ctx, finished(migrationBuild(h, 8, status.Success)))) // not failing: no mail
		require.NoError(t, mn.Report(ctx, finished(migrationBuild(h, 9, status.Failure))))
		m := next(t)
		m.HTML = strings.ReplaceAll(m.HTML, "\r\n", "\n")
		assert.Contains(t, m.Subject, "#9")
		assert.True(t, strings.HasPrefix(contentType(t, mp, m), "text/html"), "type html: %s", contentType(t, mp, m))
		for _, want := range []string{
			"<h4>Build status: FAILURE</h4>",
			"<td>Buildslave for this Build:</td><td><b>slave1</b></td>",
			`<a href="https://ci.example.org/builders/linux/builds/9">`,
			"<tr><td>Build Reason:</td><td>scheduler</td></tr>",
			"<tr><td>Build Source Stamp:</td><td><b>[branch main] 1009</b></td></tr>",
			"<tr><td>Blamelist:</td><td>alice</td></tr>",
			"<tr><td>Changed by:</td><td>alice</td></tr>",
			"<tr><td>frob.c:</td></tr>",
			`<i>Detailed log of last build step:</i> <a href="https://ci.example.org/builders/linux/builds/9/steps/test/logs/stdio">`,
			`<h4>Last 80 lines of "test.stdio"</h4>`,
			"test output line 21\ntest output line 22",
			"test output line 100\n</pre>",
			"<b>-The Buildbot</b>",
		} {
			assert.Contains(t, m.HTML, want)
		}
		assert.NotContains(t, m.HTML, "test output line 20\n")
	})

	t.Run("SMTP login", func(t *testing.T) {
		// mn = status.MailNotifier(fromaddr="myuser@gmail.com", sendToInterestedUsers=False,
		//                          extraRecipients=["listaddr@example.org"],
		//                          relayhost="smtp.gmail.com", smtpPort=587,
		//                          smtpUser="myuser@gmail.com", smtpPassword="mypassword")
		file := filepath.Join(t.TempDir(), "auth")
		require.NoError(t, os.WriteFile(file, []byte("myuser@gmail.com:mypassword\n"), 0o600))
		login := startMailpit(t, "--smtp-auth-file", file, "--smtp-auth-allow-insecure")
		mn, err := New(Options{From: "myuser@gmail.com", SkipInterestedUsers: true, ExtraRecipients: []string{"listaddr@example.org"},
			RelayHost: login.SMTPHost, Port: login.SMTPPort, // smtp.gmail.com:587
			Username: "myuser@gmail.com", Password: "mypassword", Timeout: 10 * time.Second})
		require.NoError(t, err)
		require.NoError(t, mn.Report(ctx, finished(migrationBuild(h, 10, status.Failure))))
		assert.Equal(t, "myuser@gmail.com", login.messages(t, 1)[0].From.Address)
	})

	t.Run("SMTP login over TLS", func(t *testing.T) {
		// mn = status.MailNotifier(fromaddr="myuser@gmail.com", sendToInterestedUsers=False,
		//                          extraRecipients=["listaddr@example.org"],
		//                          useTls=True, relayhost="smtp.gmail.com", smtpPort=587,
		//                          smtpUser="myuser@gmail.com", smtpPassword="mypassword")
		cert, key, tlsCfg := selfSigned(t)
		secure := startMailpit(t, "--smtp-tls-cert", cert, "--smtp-tls-key", key, "--smtp-require-starttls", "--smtp-auth-accept-any")
		mn, err := New(Options{From: "myuser@gmail.com", SkipInterestedUsers: true, ExtraRecipients: []string{"listaddr@example.org"},
			UseTLS: true, RelayHost: secure.SMTPHost, Port: secure.SMTPPort, TLSConfig: tlsCfg,
			Username: "myuser@gmail.com", Password: "mypassword", Timeout: 10 * time.Second})
		require.NoError(t, err)
		require.NoError(t, mn.Report(ctx, finished(migrationBuild(h, 11, status.Failure))))
		assert.Equal(t, []string{"listaddr@example.org"}, addresses(secure.messages(t, 1)[0].To))
	})
}

// htmlMessageFormatter is the manual's html_message_formatter in Go, line
// for line where Herald has the same data.
func htmlMessageFormatter(ctx context.Context, in *FormatInput) (*Content, error) {
	const limitLines = 80
	build := in.Build
	text := []string{}
	text = append(text, "<h4>Build status: "+strings.ToUpper(in.ResultString())+"</h4>")
	text = append(text, `<table cellspacing="10"><tr>`)
	text = append(text, "<td>Buildslave for this Build:</td><td><b>"+html.EscapeString(in.Worker())+"</b></td></tr>")
	if in.BuildURL != "" {
		text = append(text, fmt.Sprintf(`<tr><td>Complete logs for all build steps:</td><td><a href="%s">%s</a></td></tr>`, in.BuildURL, in.BuildURL))
		text = append(text, "<tr><td>Build Reason:</td><td>"+html.EscapeString(in.Reason())+"</td></tr>")
		source := ""
		var ss status.SourceStamp
		for _, ss = range in.Sources() {
			if ss.Codebase != "" {
				source += ss.Codebase + ": "
			}
			if ss.Branch != "" {
				source += "[branch " + ss.Branch + "] "
			}
			if ss.Revision != "" {
				source += ss.Revision
			} else {
				source += "HEAD"
			}
			if ss.Patch != nil {
				source += " (plus patch)"
			}
		}
		text = append(text, "<tr><td>Build Source Stamp:</td><td><b>"+html.EscapeString(source)+"</b></td></tr>")
		text = append(text, "<tr><td>Blamelist:</td><td>"+html.EscapeString(strings.Join(in.ResponsibleUsers(), ","))+"</td></tr>")
		text = append(text, "</table>")
		if len(ss.Changes) > 0 {
			text = append(text, "<h4>Recent Changes:</h4>")
			for _, c := range ss.Changes {
				text = append(text, `<table cellspacing="10">`)
				text = append(text, "<tr><td>Repository:</td><td>"+html.EscapeString(c.Repository)+"</td></tr>")
				text = append(text, "<tr><td>Project:</td><td>"+html.EscapeString(c.Project)+"</td></tr>")
				text = append(text, "<tr><td>Time:</td><td>"+c.When.Format(time.ANSIC)+"</td></tr>")
				text = append(text, "<tr><td>Changed by:</td><td>"+html.EscapeString(c.Author)+"</td></tr>")
				text = append(text, "<tr><td>Comments:</td><td>"+html.EscapeString(c.Comments)+"</td></tr>")
				text = append(text, "</table>")
				if len(c.Files) > 0 {
					text = append(text, `<table cellspacing="10"><tr><th align="left">Files</th></tr>`)
					for _, f := range c.Files {
						text = append(text, "<tr><td>"+html.EscapeString(f)+":</td></tr>")
					}
					text = append(text, "</table>")
				}
			}
		}
		text = append(text, "<br>")
		// the logs of the last step that finished; in them, stdio
		var log *Log
		logs := in.Logs()
		for i := len(logs) - 1; i >= 0; i-- {
			if logs[i].Ref.Name == "stdio" && stepDone(build, logs[i].Step) {
				log = &logs[i]
				break
			}
		}
		if log != nil {
			content, err := in.TailLog(ctx, log.Ref, limitLines)
			if err != nil {
				return nil, err
			}
			text = append(text, fmt.Sprintf(`<i>Detailed log of last build step:</i> <a href="%s">%s</a>`, log.URL, log.URL))
			text = append(text, "<br>")
			text = append(text, fmt.Sprintf(`<h4>Last %d lines of "%s"</h4>`, limitLines, log.Name))
			text = append(text, "<pre>")
			for _, line := range content {
				text = append(text, html.EscapeString(line))
			}
			text = append(text, "</pre>")
		}
		text = append(text, "<br><br>")
		text = append(text, "<b>-The Buildbot</b>")
	}
	return &Content{HTML: strings.Join(text, "\n")}, nil
}

func stepDone(b *status.Build, name string) bool {
	for _, s := range b.Steps {
		if s.Name == name {
			return s.Done()
		}
	}
	return false
}

// contentType is the top-level Content-Type of a mail mailpit holds.
func contentType(t *testing.T, mp *mailpit, m mpMessage) string {
	var headers map[string][]string
	mp.getJSON(t, "/message/"+m.ID+"/headers", &headers)
	require.Len(t, headers["Content-Type"], 1)
	return headers["Content-Type"][0]
}
