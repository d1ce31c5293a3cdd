package contentview

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// jsonView pretty-prints JSON as Python's json.dumps(json.loads(data),
// indent=4, ensure_ascii=False) does: object keys keep their order (a
// repeated key keeps its first position and its last value), numbers are
// normalised as Python would (1E2 becomes 100.0, -0 becomes 0) and NaN and
// Infinity are accepted.
type jsonView struct{}

func (jsonView) Name() string   { return "JSON" }
func (jsonView) Syntax() Syntax { return SyntaxYAML }

func (jsonView) RenderPriority(data []byte, md *Metadata) float64 {
	if len(data) == 0 {
		return 0
	}
	ct := md.ContentType
	if ct == "application/json" || ct == "application/json-rpc" {
		return 1
	}
	if strings.HasPrefix(ct, "application/") && strings.HasSuffix(ct, "json") {
		return 1
	}
	return 0
}

func (jsonView) Prettify(data []byte, _ *Metadata) (string, error) {
	v, err := parseJSON(data)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	v.write(&b, 0)
	return b.String(), nil
}

type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonTrue
	jsonFalse
	jsonString
	jsonInt
	jsonFloat
	jsonArray
	jsonObject
)

type jsonValue struct {
	kind jsonKind
	// text is a string's value, an int's digits or a float's Python repr.
	text   string
	keys   []string
	values []*jsonValue
}

// maxJSONDepth stands in for Python's recursion limit, which makes
// json.loads give up on deeply nested documents.
const maxJSONDepth = 990

// ErrJSON is wrapped by every JSON parse error.
var ErrJSON = errors.New("invalid JSON")

type jsonParser struct {
	s     []byte
	i     int
	depth int
}

func parseJSON(data []byte) (*jsonValue, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: not UTF-8", ErrJSON)
	}
	p := &jsonParser{s: data}
	p.ws()
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.s) {
		return nil, p.errorf("Extra data")
	}
	return v, nil
}

func (p *jsonParser) errorf(msg string) error {
	return fmt.Errorf("%w: %s: char %d", ErrJSON, msg, p.i)
}

func (p *jsonParser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) literal(word string) bool {
	if bytes.HasPrefix(p.s[p.i:], []byte(word)) {
		p.i += len(word)
		return true
	}
	return false
}

func (p *jsonParser) value() (*jsonValue, error) {
	if p.i >= len(p.s) {
		return nil, p.errorf("Expecting value")
	}
	switch c := p.s[p.i]; {
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &jsonValue{kind: jsonString, text: s}, nil
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case p.literal("null"):
		return &jsonValue{kind: jsonNull}, nil
	case p.literal("true"):
		return &jsonValue{kind: jsonTrue}, nil
	case p.literal("false"):
		return &jsonValue{kind: jsonFalse}, nil
	case p.literal("NaN"):
		return &jsonValue{kind: jsonFloat, text: "NaN"}, nil
	case p.literal("Infinity"):
		return &jsonValue{kind: jsonFloat, text: "Infinity"}, nil
	case p.literal("-Infinity"):
		return &jsonValue{kind: jsonFloat, text: "-Infinity"}, nil
	}
	return p.number()
}

func (p *jsonParser) digits() int {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	return p.i - start
}

func (p *jsonParser) number() (*jsonValue, error) {
	start := p.i
	if p.s[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.s) && p.s[p.i] == '0':
		p.i++
	case p.digits() == 0:
		p.i = start
		return nil, p.errorf("Expecting value")
	}
	isFloat := false
	if p.i+1 < len(p.s) && p.s[p.i] == '.' && p.s[p.i+1] >= '0' && p.s[p.i+1] <= '9' {
		p.i++
		p.digits()
		isFloat = true
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		save := p.i
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if p.digits() == 0 {
			p.i = save
		} else {
			isFloat = true
		}
	}
	text := string(p.s[start:p.i])
	if !isFloat {
		if text == "-0" {
			text = "0"
		}
		return &jsonValue{kind: jsonInt, text: text}, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, p.errorf("bad number")
	}
	return &jsonValue{kind: jsonFloat, text: pyFloatRepr(f)}, nil
}

func (p *jsonParser) str() (string, error) {
	p.i++ // opening quote
	var b strings.Builder
	for {
		start := p.i
		for p.i < len(p.s) && p.s[p.i] != '"' && p.s[p.i] != '\\' && p.s[p.i] >= 0x20 {
			p.i++
		}
		b.Write(p.s[start:p.i])
		if p.i >= len(p.s) {
			return "", p.errorf("Unterminated string")
		}
		switch c := p.s[p.i]; {
		case c == '"':
			p.i++
			return b.String(), nil
		case c < 0x20:
			return "", p.errorf("Invalid control character")
		}
		// A backslash escape.
		p.i++
		if p.i >= len(p.s) {
			return "", p.errorf("Unterminated string")
		}
		esc := p.s[p.i]
		p.i++
		switch esc {
		case '"', '\\', '/':
			b.WriteByte(esc)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.errorf("Invalid \\uXXXX escape")
			}
			if r >= 0xd800 && r <= 0xdbff && bytes.HasPrefix(p.s[p.i:], []byte(`\u`)) {
				save := p.i
				p.i += 2
				if r2, ok := p.hex4(); ok && r2 >= 0xdc00 && r2 <= 0xdfff {
					r = 0x10000 + (r-0xd800)<<10 + (r2 - 0xdc00)
				} else {
					p.i = save
				}
			}
			// A lone surrogate cannot be printed; it shows as U+FFFD.
			b.WriteRune(r)
		default:
			return "", p.errorf("Invalid \\escape")
		}
	}
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.i+4 > len(p.s) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.s[p.i:p.i+4]), 16, 32)
	if err != nil || strings.ContainsAny(string(p.s[p.i:p.i+4]), "+-_") {
		return 0, false
	}
	p.i += 4
	return rune(n), true
}

func (p *jsonParser) enter() error {
	p.depth++
	if p.depth > maxJSONDepth {
		return p.errorf("maximum recursion depth exceeded")
	}
	return nil
}

func (p *jsonParser) array() (*jsonValue, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.i++
	v := &jsonValue{kind: jsonArray}
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return v, nil
	}
	for {
		p.ws()
		item, err := p.value()
		if err != nil {
			return nil, err
		}
		v.values = append(v.values, item)
		p.ws()
		if p.i >= len(p.s) {
			return nil, p.errorf("Expecting ',' delimiter")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return v, nil
		default:
			return nil, p.errorf("Expecting ',' delimiter")
		}
	}
}

func (p *jsonParser) object() (*jsonValue, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.i++
	v := &jsonValue{kind: jsonObject}
	index := map[string]int{}
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return v, nil
	}
	for {
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return nil, p.errorf("Expecting property name enclosed in double quotes")
		}
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, p.errorf("Expecting ':' delimiter")
		}
		p.i++
		p.ws()
		val, err := p.value()
		if err != nil {
			return nil, err
		}
		if at, dup := index[key]; dup {
			v.values[at] = val
		} else {
			index[key] = len(v.keys)
			v.keys = append(v.keys, key)
			v.values = append(v.values, val)
		}
		p.ws()
		if p.i >= len(p.s) {
			return nil, p.errorf("Expecting ',' delimiter")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return v, nil
		default:
			return nil, p.errorf("Expecting ',' delimiter")
		}
	}
}

func (v *jsonValue) write(b *strings.Builder, level int) {
	switch v.kind {
	case jsonNull:
		b.WriteString("null")
	case jsonTrue:
		b.WriteString("true")
	case jsonFalse:
		b.WriteString("false")
	case jsonInt, jsonFloat:
		b.WriteString(v.text)
	case jsonString:
		writeJSONString(b, v.text)
	case jsonArray, jsonObject:
		open, closing := "[", "]"
		if v.kind == jsonObject {
			open, closing = "{", "}"
		}
		if len(v.values) == 0 {
			b.WriteString(open + closing)
			return
		}
		b.WriteString(open)
		for i, item := range v.values {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
			b.WriteString(strings.Repeat(" ", 4*(level+1)))
			if v.kind == jsonObject {
				writeJSONString(b, v.keys[i])
				b.WriteString(": ")
			}
			item.write(b, level+1)
		}
		b.WriteByte('\n')
		b.WriteString(strings.Repeat(" ", 4*level))
		b.WriteString(closing)
	}
}

// writeJSONString quotes s as Python's json module does with
// ensure_ascii=False: only the quote, the backslash and C0 controls are
// escaped.
func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if c < 0x20 {
				fmt.Fprintf(b, `\u%04x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}

// pyFloatRepr formats f as Python's repr(float) (and json.dumps) does: the
// shortest digits that round-trip, fixed notation for exponents from -4 to
// 15 with at least one fractional digit, scientific notation otherwise.
func pyFloatRepr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // -d.ddde±XX
	sign := ""
	if e[0] == '-' {
		sign, e = "-", e[1:]
	}
	mant, expText, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, _ := strconv.Atoi(expText)
	if f == 0 {
		return sign + "0.0"
	}
	decpt := exp + 1
	if decpt <= -4 || decpt > 16 {
		out := sign + digits[:1]
		if len(digits) > 1 {
			out += "." + digits[1:]
		}
		es := "+"
		if exp < 0 {
			es, exp = "-", -exp
		}
		return fmt.Sprintf("%se%s%02d", out, es, exp)
	}
	switch {
	case decpt <= 0:
		return sign + "0." + strings.Repeat("0", -decpt) + digits
	case decpt >= len(digits):
		return sign + digits + strings.Repeat("0", decpt-len(digits)) + ".0"
	}
	return sign + digits[:decpt] + "." + digits[decpt:]
}
