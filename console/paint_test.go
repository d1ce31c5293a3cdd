package console

import (
	"io"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// TestPaintIsRender: Palette.Paint, the flow list's shortcut, writes what
// Lip Gloss writes for every entry of every palette, in every colour
// profile, for the texts the rows hold.
func TestPaintIsRender(t *testing.T) {
	texts := []string{"", " ", "GET", "http://example.com/a b?c=d", "  12ms", "⇐", "🔴", "[no content]", "ü\x1b", "tab\there", "two\nlines"}
	for _, prof := range []termenv.Profile{termenv.Ascii, termenv.ANSI, termenv.ANSI256, termenv.TrueColor} {
		r := lipgloss.NewRenderer(io.Discard)
		r.SetColorProfile(prof)
		for _, name := range Palettes {
			for _, transparent := range []bool{true, false} {
				p := NewPalette(name, transparent, r)
				if len(p.affixes) != len(p.styles) {
					t.Errorf("%s (profile %d, transparent %v): %d of %d entries have affixes", name, prof, transparent, len(p.affixes), len(p.styles))
				}
				for entry := range p.styles {
					for _, text := range append(texts, entry) {
						if got, want := p.Paint(entry, text), p.Style(entry).Render(text); got != want {
							t.Fatalf("%s/%s (profile %d): Paint(%q) = %q, Render = %q", name, entry, prof, text, got, want)
						}
					}
				}
				if got, want := p.Paint("no such entry", "x"), p.Style("no such entry").Render("x"); got != want {
					t.Errorf("unknown entry: %q, want %q", got, want)
				}
			}
		}
	}
}

// BenchmarkPaint is one styled cell of a row: Paint against Lip Gloss.
func BenchmarkPaint(b *testing.B) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI256)
	p := NewPalette("solarized_dark", true, r)
	b.Run("Paint", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = p.Paint("method_get", "GET")
		}
	})
	b.Run("Render", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = p.Style("method_get").Render("GET")
		}
	})
}
