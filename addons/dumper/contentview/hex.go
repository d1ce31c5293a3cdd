package contentview

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// isBinary is mitmproxy's test for mostly-binary data: more than 30% of the
// first 100 bytes are control characters other than whitespace, or not
// ASCII.
func isBinary(data []byte) bool {
	if len(data) == 0 {
		return false
	}
	head := data[:min(len(data), 100)]
	n := 0
	for _, b := range head {
		if b < 9 || (13 < b && b < 32) || b > 126 {
			n++
		}
	}
	return float64(n)/float64(len(head)) > 0.3
}

// hexDumpView is mitmproxy's "Hex Dump": 16 bytes a row in groups of four,
// with an ASCII column.
type hexDumpView struct{}

func (hexDumpView) Name() string   { return "Hex Dump" }
func (hexDumpView) Syntax() Syntax { return SyntaxNone }

func (hexDumpView) RenderPriority(data []byte, _ *Metadata) float64 {
	if isBinary(data) {
		return 0.5
	}
	return 0
}

func (hexDumpView) Prettify(data []byte, _ *Metadata) (string, error) {
	const width = 16
	var b strings.Builder
	for row := 0; row*width < len(data); row++ {
		if row > 0 {
			b.WriteByte('\n')
		}
		chunk := data[row*width : min(len(data), (row+1)*width)]
		fmt.Fprintf(&b, "%04x:   ", row*width)
		for i, c := range chunk {
			b.WriteString(hexDelimiter(i))
			fmt.Fprintf(&b, "%02x", c)
		}
		for i := len(chunk); i < width; i++ {
			b.WriteString(hexDelimiter(i))
			b.WriteString("  ")
		}
		b.WriteString("   ")
		for _, c := range chunk {
			if c >= 0x20 && c < 0x7f {
				b.WriteByte(c)
			} else {
				b.WriteByte('.')
			}
		}
	}
	return b.String(), nil
}

// hexDelimiter separates bytes by one space and groups of four by two.
func hexDelimiter(i int) string {
	switch {
	case i == 0:
		return ""
	case i%4 == 0:
		return "  "
	}
	return " "
}

// hexStreamView is mitmproxy's "Hex Stream": the bytes as one hex string.
type hexStreamView struct{}

func (hexStreamView) Name() string   { return "Hex Stream" }
func (hexStreamView) Syntax() Syntax { return SyntaxNone }

func (hexStreamView) RenderPriority(data []byte, _ *Metadata) float64 {
	if isBinary(data) {
		return 0.4
	}
	return 0
}

func (hexStreamView) Prettify(data []byte, _ *Metadata) (string, error) {
	return hex.EncodeToString(data), nil
}
