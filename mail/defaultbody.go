package mail

import (
	"html"
	"strconv"
	"strings"
)

// The default bodies are written with a strings.Builder rather than
// text/template and html/template: the templates' reflection cost more
// than the SMTP session itself (see BenchmarkSend1000). The golden files in
// testdata pin the output.

// lastLines heads a log tail: "Last line", "Last 3 lines".
func lastLines(n int) string {
	if n == 1 {
		return "Last line"
	}
	return "Last " + strconv.Itoa(n) + " lines"
}

// text renders the plain-text body.
func (v *view) text() string {
	var b strings.Builder
	b.Grow(2048)
	w := b.WriteString
	w(v.Headline + "\n")
	if v.BuildURL != "" {
		w("Full details are available at:\n  " + v.BuildURL + "\n")
	}
	if v.BuildbotURL != "" {
		w(v.Title + ": " + v.BuildbotURL + "\n")
	}
	w("\nBuilder:    " + v.Builder + " #" + strconv.Itoa(v.Number) + "\n")
	w("Result:     " + v.Result)
	if v.Previous != "" {
		w(" (previous build " + v.Previous + ")")
	}
	w("\nReason:     " + v.Reason + "\nWorker:     " + v.Worker)
	if v.Started != "" {
		w("\nStarted:    " + v.Started)
		if v.Duration != "" {
			w(", took " + v.Duration)
		}
	}
	for _, s := range v.Sources {
		w("\nSource:     ")
		if s.Codebase != "" {
			w(s.Codebase + ": ")
		}
		if s.Branch != "" {
			w("[branch " + s.Branch + "] ")
		}
		w(s.Revision)
		if s.Patch != "" {
			w(" (" + s.Patch + ")")
		}
	}
	if v.Blamelist != "" {
		w("\nBlamelist:  " + v.Blamelist)
	}
	w("\n\n" + v.Verdict)
	if len(v.Changes) > 0 {
		w("\n\nChanges:")
		for _, c := range v.Changes {
			w("\n  * " + c.Revision + " by " + c.Author)
			if c.Branch != "" {
				w(" on " + c.Branch)
			}
			for _, l := range c.Comments {
				w("\n")
				if l != "" {
					w("      " + l)
				}
			}
			if len(c.Files) > 0 {
				w("\n    Files: " + strings.Join(c.Files, ", "))
			}
		}
	}
	if len(v.Steps) > 0 {
		w("\n\nSteps:")
		for _, s := range v.Steps {
			mark := "-"
			if s.Bad {
				mark = "x"
			}
			w("\n  " + mark + " " + s.Name + ": " + s.Result)
			if s.Text != "" {
				w(" (" + s.Text + ")")
			}
		}
	}
	if len(v.LogLines) > 0 {
		w("\n\n" + lastLines(len(v.LogLines)) + " of " + v.LogName)
		if v.LogURL != "" {
			w(" (" + v.LogURL + ")")
		}
		w(":")
		for _, l := range v.LogLines {
			w("\n  | " + l)
		}
	}
	w("\n\n-- \n" + v.Title + "\n")
	return b.String()
}

// html renders the HTML body. Every value is escaped; links are made only
// of http(s) URLs.
func (v *view) html() string {
	var b strings.Builder
	b.Grow(4096)
	w := b.WriteString
	e := html.EscapeString
	link := func(url, inner string) string {
		if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
			return inner
		}
		return `<a href="` + e(url) + `">` + inner + "</a>"
	}
	num := strconv.Itoa(v.Number)
	w("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + e(v.Builder) + " #" + num + ": " + e(v.Result) + "</title></head>\n")
	w("<body style=\"font-family: sans-serif\">\n<p>" + e(v.Headline) + "</p>")
	if v.BuildURL != "" {
		w("\n<p>" + link(v.BuildURL, "Full details of "+e(v.Builder)+" #"+num) + "</p>")
	}
	w("\n<table cellspacing=\"4\">\n<tr><td>Builder</td><td><b>" + e(v.Builder) + "</b> #" + num + "</td></tr>")
	w("\n<tr><td>Result</td><td><b>" + e(v.Result) + "</b>")
	if v.Previous != "" {
		w(" (previous build " + e(v.Previous) + ")")
	}
	w("</td></tr>\n<tr><td>Reason</td><td>" + e(v.Reason) + "</td></tr>\n<tr><td>Worker</td><td>" + e(v.Worker) + "</td></tr>")
	if v.Started != "" {
		w("\n<tr><td>Started</td><td>" + e(v.Started))
		if v.Duration != "" {
			w(", took " + e(v.Duration))
		}
		w("</td></tr>")
	}
	for _, s := range v.Sources {
		w("\n<tr><td>Source</td><td>")
		if s.Codebase != "" {
			w(e(s.Codebase) + ": ")
		}
		if s.Branch != "" {
			w("[branch " + e(s.Branch) + "] ")
		}
		w("<code>" + e(s.Revision) + "</code>")
		if s.Patch != "" {
			w(" (" + e(s.Patch) + ")")
		}
		w("</td></tr>")
	}
	if v.Blamelist != "" {
		w("\n<tr><td>Blamelist</td><td>" + e(v.Blamelist) + "</td></tr>")
	}
	w("\n</table>\n<p><b>" + e(v.Verdict) + "</b></p>")
	if len(v.Changes) > 0 {
		w("\n<h4>Changes</h4>\n<ul>")
		for _, c := range v.Changes {
			rev := "<code>" + e(c.Revision) + "</code>"
			w("\n<li>" + link(c.RevLink, rev) + " by " + e(c.Author))
			if c.Branch != "" {
				w(" on " + e(c.Branch))
			}
			w("\n<pre>")
			for i, l := range c.Comments {
				if i > 0 {
					w("\n")
				}
				w(e(l))
			}
			w("</pre>")
			if len(c.Files) > 0 {
				w("\nFiles: ")
				for i, f := range c.Files {
					if i > 0 {
						w(", ")
					}
					w("<code>" + e(f) + "</code>")
				}
			}
			w("\n</li>")
		}
		w("\n</ul>")
	}
	if len(v.Steps) > 0 {
		w("\n<h4>Steps</h4>\n<ul>")
		for _, s := range v.Steps {
			label := e(s.Name) + ": " + e(s.Result)
			if s.Bad {
				label = `<b style="color: #c00">` + label + "</b>"
			}
			w("\n<li>" + label)
			if s.Text != "" {
				w(" (" + e(s.Text) + ")")
			}
			w("</li>")
		}
		w("\n</ul>")
	}
	if len(v.LogLines) > 0 {
		w("\n<h4>" + lastLines(len(v.LogLines)) + " of " + link(v.LogURL, e(v.LogName)) + "</h4>\n<pre>")
		for i, l := range v.LogLines {
			if i > 0 {
				w("\n")
			}
			w(e(l))
		}
		w("</pre>")
	}
	w("\n<p>-- <br>" + link(v.BuildbotURL, e(v.Title)) + "</p>\n</body></html>\n")
	return b.String()
}
