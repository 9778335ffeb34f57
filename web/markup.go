package web

import (
	"html/template"
	"net/url"
	"strconv"
	"strings"

	"github.com/heraldci/herald/status"
)

// The bodies of the waterfall and the console are thousands of small cells.
// Through html/template each value costs a reflective call to its escaper,
// which made those pages three times slower than the 50 ms they are allowed
// on 50 builders × 200 builds; so their cells are written here, every
// value through html escaping and every foreign URL through safeURL. The
// page templates still lay out everything around them.

// markup accumulates HTML.
type markup struct{ strings.Builder }

// text writes s escaped for element content or a quoted attribute value.
func (m *markup) text(s string) {
	i := strings.IndexAny(s, "<>&'\"\x00")
	if i < 0 {
		m.WriteString(s)
		return
	}
	template.HTMLEscape(&m.Builder, []byte(s))
}

// attr writes ` name="value"` with value escaped.
func (m *markup) attr(name, value string) {
	m.WriteString(" " + name + `="`)
	m.text(value)
	m.WriteByte('"')
}

func (m *markup) html() template.HTML { return template.HTML(m.String()) }

// links builds paths under the server's prefix, as the templates' funcs do.
type links struct{ root string }

func (l links) build(b *status.Build) string { return buildPath(l.root, b.Builder, b.Number) }
func (l links) step(b *status.Build, step string) string {
	return l.build(b) + "/steps/" + url.PathEscape(step)
}
func (l links) log(ref status.LogRef) string {
	return buildPath(l.root, ref.Builder, ref.Build) + "/steps/" + url.PathEscape(ref.Step) + "/logs/" + url.PathEscape(ref.Name)
}
func (l links) change(id int64) string { return l.root + "/changes/" + strconv.FormatInt(id, 10) }

// waterfallBody renders the waterfall's rows.
func (s *Server) waterfallBody(rows []wfRow) template.HTML {
	l := links{s.opts.Prefix}
	var m markup
	m.Grow(len(rows) * 600)
	for _, r := range rows {
		m.WriteString(`<tr><td class="time">`)
		m.text(r.Label)
		m.WriteString("</td>")
		for _, c := range r.Cells {
			if len(c.Boxes) == 0 {
				m.WriteString(`<td class="gap" rowspan="` + strconv.Itoa(c.Span) + `"></td>`)
				continue
			}
			m.WriteString(`<td class="cell" rowspan="` + strconv.Itoa(c.Span) + `">`)
			for i := range c.Boxes {
				m.wfBox(l, &c.Boxes[i])
			}
			m.WriteString("</td>")
		}
		m.WriteString("</tr>\n")
	}
	return m.html()
}

func (m *markup) wfBox(l links, b *wfBox) {
	m.WriteString(`<div class="box `)
	m.text(b.Class)
	m.WriteString(`" data-kind="` + b.Kind + `"`)
	if b.Build != nil {
		m.attr("data-builder", b.Build.Builder)
		m.WriteString(` data-number="` + strconv.Itoa(b.Build.Number) + `"`)
	}
	switch b.Kind {
	case "build":
		m.WriteString(`><a href="`)
		m.text(l.build(b.Build))
		m.WriteString(`">Build #` + strconv.Itoa(b.Build.Number) + "</a> ")
		m.text(b.Class)
		m.lines(b.Build.Text)
	case "step":
		st := b.Step
		m.attr("data-step", st.Name)
		m.WriteString(`><a href="`)
		m.text(l.step(b.Build, st.Name))
		m.WriteString(`">`)
		m.text(st.Name)
		m.WriteString("</a>")
		m.lines(st.Text)
		for _, lg := range st.Logs {
			m.WriteString(`<br><a class="log" href="`)
			m.text(l.log(lg))
			m.WriteString(`">`)
			m.text(lg.Name)
			m.WriteString("</a>")
		}
		for _, u := range st.URLs {
			m.WriteString(`<br><a class="link" href="`)
			m.text(safeURL(u.URL))
			m.WriteString(`">`)
			m.text(u.Name)
			m.WriteString("</a>")
		}
	case "start":
		m.WriteString(`><a href="`)
		m.text(l.build(b.Build))
		m.WriteString(`">#` + strconv.Itoa(b.Build.Number) + "</a> started")
		if b.Text != "" {
			m.WriteString("<br>")
			m.text(b.Text)
		}
	case "change":
		m.WriteString(`><a href="`)
		m.text(l.change(b.Change.ID))
		m.WriteString(`"`)
		m.attr("title", b.Change.Comments)
		m.WriteString(">")
		m.text(b.Text)
		m.WriteString("</a>")
	default:
		m.WriteString(">")
		m.text(b.Text)
	}
	m.WriteString("</div>")
}

// lines writes a Buildbot text list: "<br>" and the words joined by spaces.
func (m *markup) lines(text []string) {
	if len(text) == 0 {
		return
	}
	m.WriteString("<br>")
	for i, t := range text {
		if i > 0 {
			m.WriteByte(' ')
		}
		m.text(t)
	}
}

// consoleCells renders one console row's cells.
func (s *Server) consoleCells(cells []consoleCell) template.HTML {
	l := links{s.opts.Prefix}
	var m markup
	m.Grow(len(cells) * 120)
	for _, c := range cells {
		m.WriteString(`<td class="box `)
		m.text(c.Class)
		m.WriteString(`"`)
		m.attr("title", c.Title)
		m.WriteString(">")
		if b := c.Build; b != nil {
			m.WriteString(`<a href="`)
			m.text(l.build(b))
			m.WriteString(`"`)
			m.attr("data-builder", b.Builder)
			m.WriteString(` data-number="` + strconv.Itoa(b.Number) + `">#` + strconv.Itoa(b.Number) + "</a>")
		}
		m.WriteString("</td>")
	}
	return m.html()
}
