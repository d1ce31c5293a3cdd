// Package flowfile reads and writes mitmproxy flow files (and HAR files) at
// the level of flow state dicts: the *tnetstring.Dict that mitmproxy's
// Flow.get_state() returns and that a flow file holds one of per flow.
//
// Reading applies mitmproxy's migration chain (mitmproxy/io/compat.py) to
// every flow, from the Python 2 era format (0, 11) up to FormatVersion (21,
// mitmproxy 11.0 to 12.2 and later), and returns each flow as mitmproxy
// 12's get_state() would give it. Writing emits version 21, or version 17
// for mitmproxy 8.1 (Debian bookworm's mitmproxy cannot read later
// versions). A stream that begins with '{' is read as HAR and converted to
// flows as mitmproxy's HAR importer does; WriteHAR exports HAR 1.2 as
// mitmproxy's savehar addon does.
//
// This package knows nothing of the Go flow model; converting a state dict
// to and from flow objects is done elsewhere.
//
// Where mitmproxy would refuse a flow that is merely incomplete (a missing
// key raises KeyError there), the reader fills in the default and goes on;
// keys it does not know are kept after the known ones. One deliberate
// difference from mitmproxy 12: WebSocket message contents that mitmproxy 6
// stored as str are returned as bytes, as the format specifies (mitmproxy
// would carry the str through).
//
// State that mitmproxy keeps across the flows of one read (connection ids
// invented for flows older than version 5, WebSocket handshakes waiting for
// their pre-version-12 WebSocket flow) is kept per Reader.
package flowfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mitmgo/mitmgo/tnetstring"
)

// FormatVersion is the flow format version this package reads to and
// writes by default: mitmproxy's FLOW_FORMAT_VERSION since 11.0.
const FormatVersion = 21

// Product names the program in version error messages.
const Product = "mitmgo"

// VersionError reports a flow of a format version that cannot be read.
type VersionError struct {
	Version string // as mitmproxy prints it: "22", "(0, 10)"
	Newer   bool   // the version is newer than FormatVersion
}

func (e *VersionError) Error() string {
	s := fmt.Sprintf("flowfile: %s cannot read files with flow format version %s", Product, e.Version)
	if e.Newer {
		s += ", please update " + Product
	}
	return s
}

// CorruptError reports a flow file that is damaged or truncated. Flows
// before the damage have been returned by Next already.
type CorruptError struct {
	Offset    int64 // where the problem was found
	FlowStart int64 // where the damaged flow starts
	Flows     int   // flows read successfully before it
	Err       error // the underlying error, often a *tnetstring.SyntaxError
}

func (e *CorruptError) Error() string {
	msg := e.Err.Error()
	var se *tnetstring.SyntaxError
	if errors.As(e.Err, &se) {
		msg = se.Msg
	}
	return fmt.Sprintf("flowfile: corrupted at byte %d: %s (in flow %d, which starts at byte %d)", e.Offset, msg, e.Flows+1, e.FlowStart)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// HARError reports a HAR file that cannot be read.
type HARError struct {
	Offset int64 // byte offset in the HAR text, when known
	Entry  int   // index of the entry that failed, or -1
	Err    error
}

func (e *HARError) Error() string {
	where := ""
	if e.Entry >= 0 {
		where = fmt.Sprintf(" (entry %d)", e.Entry)
	}
	return fmt.Sprintf("flowfile: unable to read HAR file, please provide a valid HAR file: at byte %d%s: %v", e.Offset, where, e.Err)
}

func (e *HARError) Unwrap() error { return e.Err }

// Reader reads flows from a mitmproxy flow file or a HAR file.
type Reader struct {
	br      *bufio.Reader
	dec     *tnetstring.Decoder
	har     *harReader
	started bool
	err     error
	n       int
	mig     *migrator

	newID func() string    // uuid4 generator; replaced in tests
	now   func() time.Time // clock for HAR imports; replaced in tests
}

// NewReader returns a Reader for r. It reads and buffers r lazily, one flow
// at a time, so memory use does not grow with the size of the file.
func NewReader(r io.Reader) *Reader {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < 4096 {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &Reader{br: br, newID: newUUID4, now: time.Now}
}

// Next returns the next flow as a version 21 state dict. It returns io.EOF
// at a clean end of the input. After an error, Next keeps returning it.
// Errors are *CorruptError for damaged input, *VersionError for a flow
// of an unsupported format version and *HARError for a bad HAR file.
func (r *Reader) Next() (*tnetstring.Dict, error) {
	if r.err != nil {
		return nil, r.err
	}
	if !r.started {
		r.started = true
		if err := r.sniff(); err != nil {
			r.err = err
			return nil, err
		}
	}
	var d *tnetstring.Dict
	var err error
	if r.har != nil {
		d, err = r.har.next()
	} else {
		d, err = r.nextFlow()
	}
	if err != nil {
		r.err = err
		return nil, err
	}
	r.n++
	return d, nil
}

// Count returns the number of flows returned so far.
func (r *Reader) Count() int { return r.n }

var bom = []byte("\xef\xbb\xbf")

func (r *Reader) sniff() error {
	head, _ := r.br.Peek(4)
	if bytes.HasPrefix(head, append(bom, '{')) {
		_, _ = r.br.Discard(3)
		head = head[3:]
	}
	if len(head) > 0 && head[0] == '{' {
		r.har = newHARReader(r.br, r.newID, r.now)
		return nil
	}
	r.dec = tnetstring.NewDecoder(r.br)
	r.mig = newMigrator(r.newID)
	return nil
}

func (r *Reader) nextFlow() (*tnetstring.Dict, error) {
	v, err := r.dec.Decode()
	if err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		off := r.dec.InputOffset()
		var se *tnetstring.SyntaxError
		if errors.As(err, &se) {
			off = se.Offset
		}
		return nil, &CorruptError{Offset: off, FlowStart: r.dec.Offset(), Flows: r.n, Err: err}
	}
	invalid := func(err error) error {
		return &CorruptError{Offset: r.dec.Offset(), FlowStart: r.dec.Offset(), Flows: r.n, Err: err}
	}
	d, ok := v.(*tnetstring.Dict)
	if !ok {
		return nil, invalid(fmt.Errorf("invalid flow: a %s instead of a dict", typeName(v)))
	}
	d, err = r.mig.migrate(d)
	if err != nil {
		var ve *VersionError
		if errors.As(err, &ve) {
			return nil, err
		}
		return nil, invalid(fmt.Errorf("invalid flow: %w", err))
	}
	d, err = canonicalize(d)
	if err != nil {
		return nil, invalid(fmt.Errorf("invalid flow: %w", err))
	}
	return d, nil
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case []byte:
		return "bytes"
	case string:
		return "str"
	case []any:
		return "list"
	case *tnetstring.Dict:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}

// ReadAll reads all flows from r. On error it returns the flows read
// before it together with the error.
func ReadAll(r io.Reader) ([]*tnetstring.Dict, error) {
	fr := NewReader(r)
	var flows []*tnetstring.Dict
	for {
		f, err := fr.Next()
		if err == io.EOF {
			return flows, nil
		}
		if err != nil {
			return flows, err
		}
		flows = append(flows, f)
	}
}
