package web

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"net/http"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"
)

// /png?builder=NAME[&number=N|&revision=HASH][&size=small|normal|large]
// draws the builder's name on grey beside the status on its colour, like
// the badge, in pure Go (golang.org/x/image and the Go fonts: no cgo, no
// image files to ship).

// pngSize is the geometry of one size= value.
type pngSize struct {
	height  int
	fontPt  float64
	padding int
}

var pngSizes = map[string]pngSize{
	"small":  {height: 20, fontPt: 11, padding: 6},
	"normal": {height: 30, fontPt: 16, padding: 9},
	"large":  {height: 44, fontPt: 24, padding: 13},
}

func (s *Server) servePNG(w http.ResponseWriter, r *http.Request) {
	sizeName := r.URL.Query().Get("size")
	if sizeName == "" {
		sizeName = "normal"
	}
	size, ok := pngSizes[sizeName]
	if !ok {
		http.Error(w, "size= must be small, normal or large", http.StatusBadRequest)
		return
	}
	st, code, ok := s.imageStatus(w, r)
	if !ok {
		return
	}
	writeImage(w, r, code, "image/png", "png\x00"+sizeName+"\x00"+st.Label+"\x00"+st.Message, func() ([]byte, error) {
		return s.views.fonts.statusPNG(st, size)
	})
}

// statusPNG draws st at size.
func (f *fonts) statusPNG(st badgeStatus, size pngSize) ([]byte, error) {
	fc, put, err := f.face(size.fontPt)
	if err != nil {
		return nil, err
	}
	defer put()
	lw := font.MeasureString(fc, st.Label).Ceil()
	mw := font.MeasureString(fc, st.Message).Ceil()
	left := lw + 2*size.padding
	width := left + mw + 2*size.padding
	img := image.NewPaletted(image.Rect(0, 0, width, size.height), palette(st.Color))
	draw.Draw(img, image.Rect(0, 0, left, size.height), image.NewUniform(colorLabel), image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(left, 0, width, size.height), image.NewUniform(st.Color), image.Point{}, draw.Src)

	// Centre the text vertically on the font's ascent and descent.
	m := fc.Metrics()
	baseline := (size.height+(m.Ascent+m.Descent).Ceil())/2 - m.Descent.Ceil()
	d := &font.Drawer{Dst: img, Src: image.White, Face: fc}
	d.Dot = fixed.P(size.padding, baseline)
	d.DrawString(st.Label)
	d.Dot = fixed.P(left+size.padding, baseline)
	d.DrawString(st.Message)

	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: f.pngBuffers}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// palette holds the two background colours, white, and the blends of white
// over each that anti-aliased text needs: a paletted image is a third the
// size of an RGBA one and encodes faster.
func palette(c color.RGBA) color.Palette {
	p := color.Palette{colorLabel, c, color.White}
	for _, bg := range []color.RGBA{colorLabel, c} {
		for i := 1; i < 8; i++ {
			a := uint32(i) * 0xffff / 8
			blend := func(x uint8) uint8 { return uint8((uint32(x)*(0xffff-a) + 0xff*a) / 0xffff) }
			p = append(p, color.RGBA{blend(bg.R), blend(bg.G), blend(bg.B), 0xff})
		}
	}
	return p
}

// pngBuffers lends PNG encoders' state (the zlib writer is most of what an
// image costs) from one request to the next.
type pngBuffers struct{ p sync.Pool }

func (b *pngBuffers) Get() *png.EncoderBuffer {
	if e, ok := b.p.Get().(*png.EncoderBuffer); ok {
		return e
	}
	return nil
}

func (b *pngBuffers) Put(e *png.EncoderBuffer) { b.p.Put(e) }
