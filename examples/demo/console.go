package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/heraldci/herald/status"
)

// console prints one line per finished build, coloured on a terminal.
type console struct {
	w     io.Writer
	color bool
}

func (c *console) Flags(*flag.FlagSet) {}

func (c *console) Start(ctx context.Context, d *demo) error {
	c.w = d.out
	if f, ok := d.out.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("NO_COLOR") == "" {
			c.color = true
		}
	}
	d.hub.Add(status.Filter(c, status.Kinds(status.BuildFinished)), status.WithName("console"))
	return nil
}

var resultColor = map[status.Result]string{
	status.Success: "32", status.Warnings: "33", status.Failure: "31",
	status.Exception: "35", status.Retry: "35", status.Cancelled: "36", status.Skipped: "37",
}

func (c *console) Report(ctx context.Context, e status.Event) error {
	if e.Kind != status.BuildFinished || e.Build == nil {
		return nil
	}
	b := e.Build
	res := fmt.Sprintf("%-9s", b.Result)
	if c.color {
		res = "\x1b[" + resultColor[b.Result] + "m" + res + "\x1b[0m"
	}
	rev, who, what := "", "", ""
	if s := b.Source(""); s != nil {
		rev = s.Revision
		if len(rev) > 7 {
			rev = rev[:7]
		}
		if n := len(s.Changes); n > 0 {
			who, _ = status.SplitAuthor(s.Changes[n-1].Author)
			what = s.Changes[n-1].Comments
		}
	}
	line := fmt.Sprintf("%s %-8s #%-4d %s %6s  [%s] %s", e.Time.Format("15:04:05"), b.Builder, b.Number, res,
		b.Finished.Sub(b.Started).Round(100*time.Millisecond), rev, strings.TrimSpace(who+": "+what))
	_, err := fmt.Fprintln(c.w, strings.TrimRight(printable(line), " :"))
	return err
}

// printable drops control characters (terminal escape sequences among
// them) that change data from webhooks may carry, keeping the colour this
// console adds itself.
func printable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "\x1b[") && len(s) > i+4 {
			if j := strings.IndexByte(s[i:], 'm'); j > 0 && j <= 5 && isColour(s[i+2:i+j]) {
				b.WriteString(s[i : i+j+1])
				i += j + 1
				continue
			}
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsControl(r) {
			b.WriteRune(r)
		}
		i += n
	}
	return b.String()
}

// isColour accepts the SGR codes this console writes ("32", "0").
func isColour(code string) bool {
	for _, c := range resultColor {
		if code == c {
			return true
		}
	}
	return code == "0"
}
