package mail

import (
	"context"
	htmltemplate "html/template"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/heraldci/herald/status"
)

// DefaultFormatter renders Herald's default mail: a plain-text body and an
// HTML alternative with the builder, result, build URL, reason, worker,
// source stamps (codebase, branch, revision, patch), blamelist, changes
// (author, comments, files), steps and the last lines of the failing step's
// log (Options.LogLines).
var DefaultFormatter MessageFormatter = FormatterFunc(defaultFormat)

type sourceView struct {
	Codebase, Repository, Branch, Revision, Patch string
}

type changeView struct {
	Revision, Author, Branch, RevLink string
	Comments                          []string
	Files                             []string
}

type stepView struct {
	Name, Result, Text string
	Bad                bool
}

// view is what both default templates render: computed once, in Go, so the
// text and HTML bodies say the same.
type view struct {
	Title, Headline, Verdict     string
	Builder                      string
	Number                       int
	Result, Previous             string
	BuildURL, BuildbotURL        string
	Reason, Worker               string
	Started, Duration            string
	Sources                      []sourceView
	Blamelist                    string
	Changes                      []changeView
	Steps                        []stepView
	LogName, LogURL              string
	LogLines                     []string
	LogTruncatedAt, LogLineCount int
}

func defaultFormat(ctx context.Context, in *FormatInput) (*Content, error) {
	v := buildView(ctx, in)
	var text, html strings.Builder
	if err := textTemplate.Execute(&text, v); err != nil {
		return nil, err
	}
	if err := htmlTemplate.Execute(&html, v); err != nil {
		return nil, err
	}
	return &Content{Text: text.String(), HTML: html.String()}, nil
}

func buildView(ctx context.Context, in *FormatInput) *view {
	b := in.Build
	v := &view{
		Title:       in.Title,
		Headline:    headline(in),
		Verdict:     verdict(in),
		Builder:     in.Builder,
		Number:      b.Number,
		Result:      in.Result.String(),
		BuildURL:    in.BuildURL,
		BuildbotURL: in.BuildbotURL,
		Reason:      b.Reason,
		Worker:      b.Worker,
		Blamelist:   strings.Join(b.Blamelist, ", "),
	}
	if in.Previous != nil {
		v.Previous = "#" + itoa(in.Previous.Number) + " " + in.Previous.Result.String()
	}
	if !b.Started.IsZero() {
		v.Started = b.Started.UTC().Format("2006-01-02 15:04:05 MST")
		if b.Done() {
			v.Duration = b.Finished.Sub(b.Started).Round(time.Second).String()
		}
	}
	for _, s := range b.Sources {
		sv := sourceView{Codebase: s.Codebase, Repository: s.Repository, Branch: s.Branch, Revision: s.Revision}
		if sv.Revision == "" {
			sv.Revision = "HEAD"
		}
		if s.Patch != nil {
			sv.Patch = "plus patch"
			if s.Patch.Comment != "" {
				sv.Patch += ": " + firstLine(s.Patch.Comment)
			}
		}
		v.Sources = append(v.Sources, sv)
		for _, c := range s.Changes {
			v.Changes = append(v.Changes, changeView{
				Revision: shortRev(c.Revision), Author: c.Author, Branch: c.Branch, RevLink: c.RevLink,
				Comments: strings.Split(strings.TrimRight(c.Comments, "\n"), "\n"), Files: c.Files,
			})
		}
	}
	for _, s := range b.Steps {
		v.Steps = append(v.Steps, stepView{
			Name: s.Name, Result: s.Result.String(), Text: strings.Join(s.Text, " "),
			Bad: s.Done() && (s.Result == status.Failure || s.Result == status.Exception),
		})
	}
	if in.LogLines > 0 && in.Result != status.Success {
		if s := in.FailingStep(); s != nil {
			if ref, ok := failingLog(s); ok {
				if lines, err := in.TailLog(ctx, ref, in.LogLines); err == nil && len(lines) > 0 {
					v.LogName, v.LogURL, v.LogLines = s.Name+"."+ref.Name, in.LogURL(s.Name, ref.Name), lines
				}
			}
		}
	}
	return v
}

func shortRev(r string) string {
	if len(r) > 12 {
		return r[:12]
	}
	return r
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }

var textTemplate = template.Must(template.New("text").Parse(`{{.Headline}}
{{if .BuildURL}}Full details are available at:
  {{.BuildURL}}
{{end}}
{{- if .BuildbotURL}}{{.Title}}: {{.BuildbotURL}}
{{end}}
Builder:    {{.Builder}} #{{.Number}}
Result:     {{.Result}}{{if .Previous}} (previous build {{.Previous}}){{end}}
Reason:     {{.Reason}}
Worker:     {{.Worker}}
{{- if .Started}}
Started:    {{.Started}}{{if .Duration}}, took {{.Duration}}{{end}}
{{- end}}
{{- range .Sources}}
Source:     {{if .Codebase}}{{.Codebase}}: {{end}}{{if .Branch}}[branch {{.Branch}}] {{end}}{{.Revision}}{{if .Patch}} ({{.Patch}}){{end}}
{{- end}}
{{- if .Blamelist}}
Blamelist:  {{.Blamelist}}
{{- end}}

{{.Verdict}}
{{- if .Changes}}

Changes:
{{- range .Changes}}
  * {{.Revision}} by {{.Author}}{{if .Branch}} on {{.Branch}}{{end}}
{{- range .Comments}}
{{if .}}      {{.}}{{end}}
{{- end}}
{{- if .Files}}
    Files: {{range $i, $f := .Files}}{{if $i}}, {{end}}{{$f}}{{end}}
{{- end}}
{{- end}}
{{- end}}
{{- if .Steps}}

Steps:
{{- range .Steps}}
  {{if .Bad}}x{{else}}-{{end}} {{.Name}}: {{.Result}}{{if .Text}} ({{.Text}}){{end}}
{{- end}}
{{- end}}
{{- if .LogLines}}

Last {{len .LogLines}} lines of {{.LogName}}{{if .LogURL}} ({{.LogURL}}){{end}}:
{{- range .LogLines}}
  | {{.}}
{{- end}}
{{- end}}

-- 
{{.Title}}
`))

var htmlTemplate = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Builder}} #{{.Number}}: {{.Result}}</title></head>
<body style="font-family: sans-serif">
<p>{{.Headline}}</p>
{{- if .BuildURL}}
<p><a href="{{.BuildURL}}">Full details of {{.Builder}} #{{.Number}}</a></p>
{{- end}}
<table cellspacing="4">
<tr><td>Builder</td><td><b>{{.Builder}}</b> #{{.Number}}</td></tr>
<tr><td>Result</td><td><b>{{.Result}}</b>{{if .Previous}} (previous build {{.Previous}}){{end}}</td></tr>
<tr><td>Reason</td><td>{{.Reason}}</td></tr>
<tr><td>Worker</td><td>{{.Worker}}</td></tr>
{{- if .Started}}
<tr><td>Started</td><td>{{.Started}}{{if .Duration}}, took {{.Duration}}{{end}}</td></tr>
{{- end}}
{{- range .Sources}}
<tr><td>Source</td><td>{{if .Codebase}}{{.Codebase}}: {{end}}{{if .Branch}}[branch {{.Branch}}] {{end}}<code>{{.Revision}}</code>{{if .Patch}} ({{.Patch}}){{end}}</td></tr>
{{- end}}
{{- if .Blamelist}}
<tr><td>Blamelist</td><td>{{.Blamelist}}</td></tr>
{{- end}}
</table>
<p><b>{{.Verdict}}</b></p>
{{- if .Changes}}
<h4>Changes</h4>
<ul>
{{- range .Changes}}
<li>{{if .RevLink}}<a href="{{.RevLink}}"><code>{{.Revision}}</code></a>{{else}}<code>{{.Revision}}</code>{{end}} by {{.Author}}{{if .Branch}} on {{.Branch}}{{end}}
<pre>{{range $i, $l := .Comments}}{{if $i}}
{{end}}{{$l}}{{end}}</pre>
{{- if .Files}}
Files: {{range $i, $f := .Files}}{{if $i}}, {{end}}<code>{{$f}}</code>{{end}}
{{- end}}
</li>
{{- end}}
</ul>
{{- end}}
{{- if .Steps}}
<h4>Steps</h4>
<ul>
{{- range .Steps}}
<li>{{if .Bad}}<b style="color: #c00">{{.Name}}: {{.Result}}</b>{{else}}{{.Name}}: {{.Result}}{{end}}{{if .Text}} ({{.Text}}){{end}}</li>
{{- end}}
</ul>
{{- end}}
{{- if .LogLines}}
<h4>Last {{len .LogLines}} lines of {{if .LogURL}}<a href="{{.LogURL}}">{{.LogName}}</a>{{else}}{{.LogName}}{{end}}</h4>
<pre>{{range $i, $l := .LogLines}}{{if $i}}
{{end}}{{$l}}{{end}}</pre>
{{- end}}
<p>-- <br>{{if .BuildbotURL}}<a href="{{.BuildbotURL}}">{{.Title}}</a>{{else}}{{.Title}}{{end}}</p>
</body></html>
`))
