package web

import (
	"bytes"
	"encoding/xml"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// imageHistory has builder "proj" with one build of each result at
// distinct revisions, newest last, and builder "idle" without builds.
func imageHistory() (*statustest.History, map[status.Result]string) {
	h := statustest.NewHistory()
	revs := map[status.Result]string{}
	for i, r := range status.AllResults() {
		rev := strings.Repeat(string(rune('a'+i)), 40)
		revs[r] = rev
		h.AddBuild(statustest.NewBuild("proj").Number(i + 1).Revision(rev).
			Started(t0.Add(time.Duration(i) * time.Hour)).Result(r).Build())
	}
	h.AddBuild(statustest.NewBuild("proj").Number(100).Started(t0.Add(100 * time.Hour)).Running().Build())
	h.AddBuilder(status.Builder{Name: "idle"})
	return h, revs
}

func decodePNG(t *testing.T, body string) (w, h int, status, label color.RGBA) {
	t.Helper()
	img, err := png.Decode(strings.NewReader(body))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	b := img.Bounds()
	rgba := func(x, y int) color.RGBA {
		return color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
	}
	// Corners are background: the right ones the status area, the left
	// ones the label.
	return b.Dx(), b.Dy(), rgba(b.Max.X-1, b.Min.Y), rgba(b.Min.X, b.Min.Y)
}

func TestPNG(t *testing.T) {
	hist, revs := imageHistory()
	s := newServer(t, hist, Options{})
	heights := map[string]int{"small": 20, "": 30, "normal": 30, "large": 44}
	widths := map[string]int{}
	for size, hgt := range heights {
		resp, body := fetch(t, s, "/png?builder=proj&size="+size)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("size=%s: %s %s", size, resp.Status, resp.Header.Get("Content-Type"))
		}
		w, h, st, label := decodePNG(t, body)
		if h != hgt {
			t.Errorf("size=%q: height %d, want %d", size, h, hgt)
		}
		widths[size] = w
		// The last finished build is #7 (cancelled): grey; the running
		// #100 is not the last finished.
		if st != colorUnknown || label != colorLabel {
			t.Errorf("size=%q: status colour %v, label %v", size, st, label)
		}
	}
	if !(widths["small"] < widths["normal"] && widths["normal"] < widths["large"]) {
		t.Errorf("widths do not grow with size: %v", widths)
	}

	want := map[status.Result]color.RGBA{
		status.Success: colorPassing, status.Warnings: colorWarnings, status.Failure: colorFailing,
		status.Exception: colorException, status.Retry: colorRetry, status.Skipped: colorUnknown,
	}
	for r, c := range want {
		_, body := fetch(t, s, "/png?builder=proj&revision="+revs[r])
		if _, _, st, _ := decodePNG(t, body); st != c {
			t.Errorf("revision of a %v build: status colour %v, want %v", r, st, c)
		}
	}
	// number= wins over revision=; a running build is blue.
	_, body := fetch(t, s, "/png?builder=proj&number=3&revision="+revs[status.Success])
	if _, _, st, _ := decodePNG(t, body); st != colorFailing {
		t.Errorf("number=3 (failure) with a passing revision: %v", st)
	}
	_, body = fetch(t, s, "/png?builder=proj&number=100")
	if _, _, st, _ := decodePNG(t, body); st != colorRunning {
		t.Errorf("running build: %v", st)
	}
	_, body = fetch(t, s, "/png?builder=idle")
	if _, _, st, _ := decodePNG(t, body); st != colorUnknown {
		t.Errorf("builder without builds: %v", st)
	}

	for _, tc := range []struct {
		query string
		code  int
	}{
		{"", http.StatusBadRequest},
		{"builder=proj&size=huge", http.StatusBadRequest},
		{"builder=proj&number=x", http.StatusBadRequest},
		{"builder=proj&revision=" + revs[status.Success][:12], http.StatusBadRequest}, // short hash
		{"builder=nope", http.StatusNotFound},
		{"builder=proj&number=55", http.StatusNotFound},
		{"builder=proj&revision=" + strings.Repeat("9", 40), http.StatusNotFound},
		{"builder=proj&revision=" + strings.Repeat("F", 64), http.StatusNotFound}, // SHA-256 is a full hash
	} {
		resp, body := fetch(t, s, "/png?"+tc.query)
		if resp.StatusCode != tc.code {
			t.Errorf("/png?%s: %d, want %d", tc.query, resp.StatusCode, tc.code)
		}
		if tc.code == http.StatusNotFound {
			// Still an image, so a README shows it.
			decodePNG(t, body)
		}
	}
}

func TestImageETag(t *testing.T) {
	hist, _ := imageHistory()
	s := newServer(t, hist, Options{})
	for i, path := range []string{"/png?builder=proj&size=small", "/badge.svg?builder=proj"} {
		resp, _ := fetch(t, s, path)
		tag := resp.Header.Get("ETag")
		if tag == "" || resp.Header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("%s: ETag %q, Cache-Control %q", path, tag, resp.Header.Get("Cache-Control"))
		}
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("If-None-Match", tag)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Errorf("%s with its ETag: %d, %d bytes", path, rec.Code, rec.Body.Len())
		}
		// A new build changes the image.
		hist.AddBuild(statustest.NewBuild("proj").Number(200 + i).Started(t0.Add(time.Duration(200+i) * time.Hour)).
			Result([]status.Result{status.Success, status.Failure}[i]).Build())
		rec = httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Errorf("%s after a new build: %d, want 200", path, rec.Code)
		}
	}
}

type svgBack struct {
	XMLName xml.Name `xml:"http://www.w3.org/2000/svg svg"`
	Width   int      `xml:"width,attr"`
	Height  int      `xml:"height,attr"`
	Label   string   `xml:"aria-label,attr"`
	Title   string   `xml:"title"`
	Rects   []struct {
		Fill string `xml:"fill,attr"`
	} `xml:"g>rect"`
	Texts []struct {
		Text   string `xml:",chardata"`
		Hidden string `xml:"aria-hidden,attr"`
	} `xml:"g>text"`
}

func parseSVG(t *testing.T, body string) svgBack {
	t.Helper()
	var s svgBack
	if err := xml.NewDecoder(strings.NewReader(body)).Decode(&s); err != nil {
		t.Fatalf("SVG does not parse: %v\n%s", err, body)
	}
	return s
}

func TestBadge(t *testing.T) {
	hist, revs := imageHistory()
	s := newServer(t, hist, Options{})
	for _, tc := range []struct {
		query, label, msg, fill string
	}{
		{"builder=proj&number=1", "proj", "passing", "#44cc11"},
		{"builder=proj&revision=" + revs[status.Failure], "proj", "failing", "#e05d44"},
		{"builder=proj&number=2&label=build", "build", "warnings", "#dfb317"},
		{"builder=proj&number=100", "proj", "running", "#007ec6"},
		{"builder=idle", "idle", "no builds", "#9f9f9f"},
		{"builder=" + `<b>&"x'`, `<b>&"x'`, "not found", "#9f9f9f"},
	} {
		resp, body := fetch(t, s, "/badge.svg?"+strings.ReplaceAll(strings.ReplaceAll(tc.query, "&\"", "%26\""), "<b>&", "<b>%26"))
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "image/svg+xml") {
			t.Errorf("%s: Content-Type %q", tc.query, ct)
		}
		b := parseSVG(t, body)
		var texts []string
		for _, x := range b.Texts {
			if x.Hidden == "" {
				texts = append(texts, x.Text)
			}
		}
		if b.Height != 20 || b.Width < 40 || b.Label != tc.label+": "+tc.msg || b.Title != b.Label ||
			strings.Join(texts, "|") != tc.label+"|"+tc.msg {
			t.Errorf("%s: badge %+v", tc.query, b)
		}
		if len(b.Rects) < 2 || b.Rects[1].Fill != tc.fill {
			t.Errorf("%s: status fill %+v, want %s", tc.query, b.Rects, tc.fill)
		}
	}
	// Longer text, wider badge.
	short := parseSVG(t, mustGet(t, s, "/badge.svg?builder=proj&label=a"))
	long := parseSVG(t, mustGet(t, s, "/badge.svg?builder=proj&label=a+much+longer+label"))
	if long.Width <= short.Width {
		t.Errorf("badge widths %d (long label) <= %d (short)", long.Width, short.Width)
	}
	golden(t, "badge.golden.svg", mustGet(t, s, "/badge.svg?builder=proj&number=1"))
}

func FuzzBadgeText(f *testing.F) {
	for _, s := range []string{"proj", `<svg onload="x">`, "\x00\x1f\ufffe", "ünïcödé ✓", strings.Repeat("w", 300)} {
		f.Add(s)
	}
	fonts := newFonts()
	f.Fuzz(func(t *testing.T, label string) {
		b, err := fonts.badgeSVG(statusOf(truncate(label, 60), nil))
		if err != nil {
			t.Fatal(err)
		}
		if err := xml.NewDecoder(bytes.NewReader(b)).Decode(new(svgBack)); err != nil {
			t.Fatalf("label %q: SVG does not parse: %v", label, err)
		}
	})
}

func TestBuildStatus(t *testing.T) {
	s := newServer(t, viewsFixture(), Options{})
	page := mustGet(t, s, "/buildstatus?builder=windows&number=2")
	region := liveRegion(t, page)
	// Newest step on top, the running one; the build's start at the bottom.
	iLint, iTest, iCompile := strings.Index(region, `data-step="lint"`), strings.Index(region, `data-step="test"`), strings.Index(region, `data-step="compile"`)
	if !(iLint > 0 && iLint < iTest && iTest < iCompile) {
		t.Errorf("steps not newest first:\n%s", region)
	}
	if !strings.Contains(region, `class="box running" data-kind="build"`) || !strings.Contains(region, `data-events="/events?builder=windows"`) {
		t.Errorf("running build box or live stream missing:\n%s", region)
	}
	golden(t, "buildstatus.golden.html", region)
	for _, tc := range []struct {
		query string
		code  int
	}{
		{"", 400}, {"builder=windows", 400}, {"builder=windows&number=x", 400},
		{"builder=windows&number=9", 404}, {"builder=nope&number=1", 404},
	} {
		if resp, _ := fetch(t, s, "/buildstatus?"+tc.query); resp.StatusCode != tc.code {
			t.Errorf("/buildstatus?%s: %d, want %d", tc.query, resp.StatusCode, tc.code)
		}
	}
}
