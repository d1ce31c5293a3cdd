package tnetstring

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// MaxDepth bounds the nesting of lists and dicts, in both directions.
// mitmproxy's own state dicts nest about six levels deep.
const MaxDepth = 128

// maxPrefixDigits is the longest length prefix accepted, as in mitmproxy's
// file reader.
const maxPrefixDigits = 12

// SyntaxError describes malformed input. Offset is the position of the
// problem in bytes from the start of the input (for a Decoder, of the
// stream).
type SyntaxError struct {
	Offset int64
	Msg    string
	Err    error // an underlying cause such as io.ErrUnexpectedEOF, or nil
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("tnetstring: at byte %d: %s", e.Offset, e.Msg)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// Unmarshal decodes the first tnetstring item in data and returns it with
// the bytes after it. []byte values in the result share memory with data.
func Unmarshal(data []byte) (v any, rest []byte, err error) {
	p := parser{data: data}
	v, end, err := p.item(0, 0)
	if err != nil {
		return nil, data, err
	}
	return v, data[end:], nil
}

type parser struct {
	data []byte
	base int64 // stream offset of data[0], for error messages
}

func (p *parser) errf(off int, format string, args ...any) error {
	return &SyntaxError{Offset: p.base + int64(off), Msg: fmt.Sprintf(format, args...)}
}

// header parses "<digits>:" at off and returns the payload start and length.
func (p *parser) header(off int) (start, n int, err error) {
	d := p.data
	i := off
	n = 0
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		if i-off >= maxPrefixDigits {
			return 0, 0, p.errf(off, "length prefix longer than %d digits", maxPrefixDigits)
		}
		n = n*10 + int(d[i]-'0')
		i++
	}
	if i == len(d) {
		if i == off {
			return 0, 0, &SyntaxError{Offset: p.base + int64(off), Msg: "unexpected end of data, expected a length prefix", Err: io.ErrUnexpectedEOF}
		}
		return 0, 0, &SyntaxError{Offset: p.base + int64(i), Msg: "unexpected end of data in length prefix", Err: io.ErrUnexpectedEOF}
	}
	if i == off {
		return 0, 0, p.errf(off, "expected a length prefix, found %q", d[i])
	}
	if d[i] != ':' {
		return 0, 0, p.errf(i, "expected ':' after length prefix, found %q", d[i])
	}
	start = i + 1
	if n > len(d)-start-1 {
		return 0, 0, &SyntaxError{Offset: p.base + int64(off),
			Msg: fmt.Sprintf("length prefix %d runs past the end of the data (%d bytes left)", n, len(d)-start),
			Err: io.ErrUnexpectedEOF}
	}
	return start, n, nil
}

// item parses one item at off and returns the offset just after it.
func (p *parser) item(off, depth int) (any, int, error) {
	start, n, err := p.header(off)
	if err != nil {
		return nil, 0, err
	}
	end := start + n
	payload := p.data[start:end:end]
	tag := p.data[end]
	switch tag {
	case ']':
		if depth >= MaxDepth {
			return nil, 0, p.errf(off, "nesting deeper than %d levels", MaxDepth)
		}
		l, err := p.list(start, end, depth+1)
		if err != nil {
			return nil, 0, err
		}
		return l, end + 1, nil
	case '}':
		if depth >= MaxDepth {
			return nil, 0, p.errf(off, "nesting deeper than %d levels", MaxDepth)
		}
		d, err := p.dict(start, end, depth+1)
		if err != nil {
			return nil, 0, err
		}
		return d, end + 1, nil
	}
	v, err := p.leaf(payload, tag, start)
	if err != nil {
		return nil, 0, err
	}
	return v, end + 1, nil
}

// leaf decodes a non-container payload found at off.
func (p *parser) leaf(payload []byte, tag byte, off int) (any, error) {
	switch tag {
	case ',':
		if len(payload) == 0 {
			return emptyBytes, nil
		}
		return payload, nil
	case ';':
		if !utf8.Valid(payload) {
			return nil, p.errf(off, "str item is not valid UTF-8")
		}
		if v, ok := internValue(payload); ok {
			return v, nil
		}
		return string(payload), nil
	case '#':
		v, err := parseInt(payload)
		if err != nil {
			return nil, p.errf(off, "invalid integer literal %.40q", payload)
		}
		return v, nil
	case '^':
		v, err := parseFloat(payload)
		if err != nil {
			return nil, p.errf(off, "invalid float literal %.40q", payload)
		}
		return v, nil
	case '!':
		switch string(payload) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, p.errf(off, "invalid boolean literal %.40q", payload)
	case '~':
		if len(payload) != 0 {
			return nil, p.errf(off, "null item with a non-empty payload")
		}
		return nil, nil
	}
	return nil, p.errf(off+len(payload), "unknown type tag %q", tag)
}

// list parses the items of data[start:end]. Items are gathered in a
// stack buffer first, so the result is allocated once at its final size.
func (p *parser) list(start, end, depth int) ([]any, error) {
	var stack [16]any
	tmp := stack[:0]
	for i := start; i < end; {
		v, next, err := p.sub(i, end, depth)
		if err != nil {
			return nil, err
		}
		tmp = append(tmp, v)
		i = next
	}
	l := make([]any, len(tmp))
	copy(l, tmp)
	return l, nil
}

// sub parses an item that must end at or before limit (inside a container).
func (p *parser) sub(off, limit, depth int) (any, int, error) {
	q := parser{data: p.data[:limit], base: p.base}
	v, next, err := q.item(off, depth)
	if err != nil {
		var se *SyntaxError
		if errors.As(err, &se) && errors.Is(se.Err, io.ErrUnexpectedEOF) {
			// Inside a container, running out of room is a length mismatch,
			// not a truncated stream.
			se.Err = nil
			se.Msg += " (item does not fit in its enclosing list or dict)"
		}
		return nil, 0, err
	}
	return v, next, nil
}

func (p *parser) dict(start, end, depth int) (*Dict, error) {
	q := parser{data: p.data[:end], base: p.base}
	var stack [24]Entry
	entries := stack[:0]
	for i := start; i < end; {
		koff := i
		var e Entry
		var next int
		// Keys are parsed here rather than through sub, so that the common
		// ones are interned instead of allocated for every flow.
		ks, kn, err := q.header(i)
		if err == nil && (q.data[ks+kn] == ',' || q.data[ks+kn] == ';') {
			kb := q.data[ks : ks+kn]
			if q.data[ks+kn] == ',' {
				e.BytesKey = true
			} else if !utf8.Valid(kb) {
				return nil, p.errf(ks, "str item is not valid UTF-8")
			}
			e.Key = internKey(kb)
			next = ks + kn + 1
		} else {
			k, _, err := p.sub(i, end, depth)
			if err != nil {
				return nil, err
			}
			return nil, p.errf(koff, "dict key must be bytes or str, not %s", typeName(k))
		}
		if next >= end {
			return nil, p.errf(koff, "dict key %.40q has no value", e.Key)
		}
		if e.Value, i, err = p.sub(next, end, depth); err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	entries = dedupe(entries)
	// The file holds entries in reverse insertion order.
	out := make([]Entry, len(entries))
	for i, e := range entries {
		out[len(entries)-1-i] = e
	}
	return &Dict{Entries: out}, nil
}

// dedupe applies Python's dict semantics to repeated keys (in file order):
// the first occurrence keeps its place, the last value wins.
func dedupe(entries []Entry) []Entry {
	if len(entries) < 2 || !hasDuplicates(entries) {
		return entries
	}
	pos := make(map[Entry]int, len(entries))
	out := make([]Entry, 0, len(entries))
	for _, e := range entries {
		k := Entry{Key: e.Key, BytesKey: e.BytesKey}
		if i, ok := pos[k]; ok {
			out[i].Value = e.Value
			continue
		}
		pos[k] = len(out)
		out = append(out, e)
	}
	return out
}

// hasDuplicates reports whether two entries share a key, using a small
// open-addressing table on the stack for the usual small dicts.
func hasDuplicates(entries []Entry) bool {
	const size = 64
	if len(entries) > size/2 {
		seen := make(map[Entry]struct{}, len(entries))
		for _, e := range entries {
			k := Entry{Key: e.Key, BytesKey: e.BytesKey}
			if _, ok := seen[k]; ok {
				return true
			}
			seen[k] = struct{}{}
		}
		return false
	}
	var table [size]uint8 // entry index + 1; 0 is empty
	for i, e := range entries {
		k := e.Key
		h := uint(len(k)) * 31
		if len(k) > 0 {
			h += uint(k[0])*7 + uint(k[len(k)/2])*13 + uint(k[len(k)-1])
		}
		if e.BytesKey {
			h++
		}
		for slot := h % size; ; slot = (slot + 1) % size {
			j := table[slot]
			if j == 0 {
				table[slot] = uint8(i + 1)
				break
			}
			o := entries[j-1]
			if o.Key == k && o.BytesKey == e.BytesKey {
				return true
			}
		}
	}
	return false
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case []any:
		return "list"
	case *Dict:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// parseInt accepts what Python's int() accepts for mitmproxy's files: an
// optional sign and decimal digits, optionally surrounded by whitespace.
// Values that do not fit in int64 become *big.Int.
func parseInt(b []byte) (any, error) {
	b = trimSpace(b)
	s := b
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	if len(s) == 0 {
		return nil, strconv.ErrSyntax
	}
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return nil, strconv.ErrSyntax
		}
		n = n*10 + int64(c-'0')
	}
	if len(s) <= 18 {
		if b[0] == '-' {
			n = -n
		}
		return n, nil
	}
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		return n, nil
	}
	bi, ok := new(big.Int).SetString(string(b), 10)
	if !ok {
		return nil, strconv.ErrSyntax
	}
	return bi, nil
}

// parseFloat accepts what Python's float() accepts for mitmproxy's files:
// decimal and scientific notation, inf, infinity and nan (any case, signed),
// optionally surrounded by whitespace. Out-of-range values become ±inf or 0
// as in Python.
func parseFloat(b []byte) (float64, error) {
	b = trimSpace(b)
	if len(b) == 0 {
		return 0, strconv.ErrSyntax
	}
	for _, c := range b {
		// Reject what Go accepts but Python does not: hex floats and
		// underscores.
		if c == 'x' || c == 'X' || c == '_' || c == 'p' || c == 'P' {
			return 0, strconv.ErrSyntax
		}
	}
	// The bytes are only read during the call; a NumError keeping the
	// string is discarded below.
	f, err := strconv.ParseFloat(unsafe.String(&b[0], len(b)), 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return f, nil
		}
		return 0, strconv.ErrSyntax
	}
	if math.IsNaN(f) {
		return math.NaN(), nil
	}
	return f, nil
}

// Decoder reads a stream of concatenated tnetstring items, such as a
// mitmproxy flow file.
type Decoder struct {
	r      *bufio.Reader
	off    int64 // stream offset of the next unread byte
	start  int64 // stream offset of the item being (or last) decoded
	prefix [maxPrefixDigits + 1]byte
}

// NewDecoder returns a Decoder reading from r. It buffers r.
func NewDecoder(r io.Reader) *Decoder {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < 4096 {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &Decoder{r: br}
}

// Offset returns the byte offset in the stream at which the item being
// decoded, or the one last decoded, starts.
func (d *Decoder) Offset() int64 { return d.start }

// InputOffset returns the number of bytes consumed from the stream so far.
func (d *Decoder) InputOffset() int64 { return d.off }

// Decode reads the next item. It returns io.EOF when the stream ends
// cleanly before a new item, and a *SyntaxError (wrapping
// io.ErrUnexpectedEOF when the stream is truncated) for malformed input;
// after an error the stream position is unspecified. []byte values in the
// result share one buffer, allocated for that item alone (str values are
// copied): one of them kept keeps the whole item's buffer alive, so a
// caller keeping values beyond the item copies them (as flow.FromState does).
func (d *Decoder) Decode() (any, error) {
	d.start = d.off
	// Length prefix.
	np := 0
	for {
		c, err := d.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				if np == 0 {
					return nil, io.EOF
				}
				return nil, &SyntaxError{Offset: d.off, Msg: "unexpected end of data in length prefix", Err: io.ErrUnexpectedEOF}
			}
			return nil, err
		}
		if c == ':' {
			if np == 0 {
				return nil, &SyntaxError{Offset: d.off, Msg: "missing length prefix"}
			}
			d.off++
			break
		}
		if c < '0' || c > '9' {
			return nil, &SyntaxError{Offset: d.off, Msg: fmt.Sprintf("expected a digit or ':' in length prefix, found %q", c)}
		}
		if np == maxPrefixDigits {
			return nil, &SyntaxError{Offset: d.start, Msg: fmt.Sprintf("length prefix longer than %d digits", maxPrefixDigits)}
		}
		d.prefix[np] = c
		np++
		d.off++
	}
	n, _ := strconv.ParseInt(string(d.prefix[:np]), 10, 64)
	// Read payload and tag. Grow the buffer as data arrives rather than
	// trusting the prefix, so a corrupt prefix cannot make us allocate a
	// huge buffer.
	total := n + 1
	const chunk = 1 << 20
	var buf []byte
	if total <= chunk {
		buf = make([]byte, total)
		got, err := io.ReadFull(d.r, buf)
		d.off += int64(got)
		if err != nil {
			return nil, d.truncated(err, total-int64(got))
		}
	} else {
		buf = make([]byte, 0, chunk)
		for int64(len(buf)) < total {
			want := min(total-int64(len(buf)), chunk)
			if cap(buf)-len(buf) < int(want) {
				buf = append(buf[:cap(buf)], make([]byte, cap(buf))...)[:len(buf)]
			}
			got, err := io.ReadFull(d.r, buf[len(buf):len(buf)+int(want)])
			buf = buf[:len(buf)+got]
			d.off += int64(got)
			if err != nil {
				return nil, d.truncated(err, total-int64(len(buf)))
			}
		}
	}
	p := parser{data: buf, base: d.start + int64(np) + 1}
	return p.top(n)
}

func (d *Decoder) truncated(err error, missing int64) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return &SyntaxError{Offset: d.off, Msg: fmt.Sprintf("unexpected end of data, %d more bytes expected", missing), Err: io.ErrUnexpectedEOF}
	}
	return err
}

// top parses a payload of n bytes followed by its tag, all of p.data.
func (p *parser) top(n int64) (any, error) {
	data := p.data
	tag := data[n]
	payload := data[:n:n]
	switch tag {
	case ']', '}':
		q := parser{data: data[:n], base: p.base}
		if tag == ']' {
			return q.list(0, int(n), 1)
		}
		return q.dict(0, int(n), 1)
	}
	return p.leaf(payload, tag, 0)
}
