package websocket

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/klauspost/compress/flate"
)

// Deflate is what a handshake agreed for permessage-deflate (RFC 7692).
// The zero value is not valid: window sizes are 9 to 15 bits, 15 when the
// handshake does not say.
type Deflate struct {
	// ServerNoContextTakeover: the server starts every message with an
	// empty compression window (and the client may forget its window
	// after each message it receives).
	ServerNoContextTakeover bool
	ClientNoContextTakeover bool
	// ServerMaxWindowBits bounds the window the server compresses with.
	ServerMaxWindowBits int
	ClientMaxWindowBits int
}

// ExtensionName is permessage-deflate's name in Sec-WebSocket-Extensions.
const ExtensionName = "permessage-deflate"

// ParseExtensions reads a handshake response's Sec-WebSocket-Extensions
// value (all its header fields joined with commas) as wsproto does for
// mitmproxy: the permessage-deflate parameters when it names that
// extension (nil when not), and the names of the others, which the proxy
// does not support and ignores. An error says a parameter is out of range.
func ParseExtensions(header string) (*Deflate, []string, error) {
	var d *Deflate
	var unknown []string
	if strings.TrimSpace(header) == "" {
		return nil, nil, nil
	}
	for _, ext := range strings.Split(header, ",") {
		ext = strings.TrimSpace(ext)
		name, _, _ := strings.Cut(ext, ";")
		name = strings.TrimSpace(name)
		if name != ExtensionName {
			unknown = append(unknown, name)
			continue
		}
		if d != nil {
			// Offered twice: the first one counts.
			continue
		}
		p, err := parseDeflate(ext)
		if err != nil {
			return nil, unknown, err
		}
		d = p
	}
	return d, unknown, nil
}

// parseDeflate reads permessage-deflate's parameters as wsproto's
// PerMessageDeflate.finalize does.
func parseDeflate(ext string) (*Deflate, error) {
	d := &Deflate{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}
	parts := strings.Split(ext, ";")
	for _, p := range parts[1:] {
		p = strings.TrimSpace(p)
		bitsParam := func() (int, error) {
			_, v, ok := strings.Cut(p, "=")
			if !ok {
				// Only an offer may leave client_max_window_bits
				// without a value; a response that does means the
				// default.
				return 15, nil
			}
			n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(v), `"`))
			if err != nil || n < 9 || n > 15 {
				return 0, fmt.Errorf("websocket: %s: window size must be between 9 and 15 inclusive", p)
			}
			return n, nil
		}
		var err error
		switch {
		case strings.HasPrefix(p, "client_no_context_takeover"):
			d.ClientNoContextTakeover = true
		case strings.HasPrefix(p, "server_no_context_takeover"):
			d.ServerNoContextTakeover = true
		case strings.HasPrefix(p, "client_max_window_bits"):
			d.ClientMaxWindowBits, err = bitsParam()
		case strings.HasPrefix(p, "server_max_window_bits"):
			d.ServerMaxWindowBits, err = bitsParam()
		}
		if err != nil {
			return nil, err
		}
	}
	return d, nil
}

// String is the parameters as a Sec-WebSocket-Extensions value.
func (d *Deflate) String() string {
	s := ExtensionName
	if d.ServerNoContextTakeover {
		s += "; server_no_context_takeover"
	}
	if d.ClientNoContextTakeover {
		s += "; client_no_context_takeover"
	}
	if d.ServerMaxWindowBits != 15 && d.ServerMaxWindowBits != 0 {
		s += "; server_max_window_bits=" + strconv.Itoa(d.ServerMaxWindowBits)
	}
	if d.ClientMaxWindowBits != 15 && d.ClientMaxWindowBits != 0 {
		s += "; client_max_window_bits=" + strconv.Itoa(d.ClientMaxWindowBits)
	}
	return s
}

// sends returns the window bits and context takeover of what role sends.
func (d *Deflate) sends(role Role) (bits int, noTakeover bool) {
	if role == Client {
		return d.ClientMaxWindowBits, d.ClientNoContextTakeover
	}
	return d.ServerMaxWindowBits, d.ServerNoContextTakeover
}

// deflateTail ends a message's compressed data: the empty stored block that
// the sender removed (RFC 7692 section 7.2.2), then a final empty stored
// block so that the decompressor sees the end of a stream.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// maxWindow is the largest deflate window, and so the most history a
// decompressor with context takeover needs to keep.
const maxWindow = 32 << 10

// inflater decompresses the messages of one direction.
type inflater struct {
	// takeover keeps the window from one message to the next.
	takeover bool
	fr       io.ReadCloser
	src      bytes.Reader
	tail     bytes.Reader
	mr       io.Reader
	// dict is the end of what was decompressed so far (context takeover).
	dict []byte
}

func newInflater(d *Deflate, sender Role) *inflater {
	_, noTakeover := d.sends(sender)
	f := &inflater{takeover: !noTakeover}
	f.mr = io.MultiReader(&f.src, &f.tail)
	return f
}

// inflate decompresses one message's payload and appends it to dst. limit,
// when positive, bounds the result: more is a *ProtocolError with
// CloseMessageTooBig.
func (f *inflater) inflate(dst, payload []byte, limit int64) ([]byte, error) {
	f.src.Reset(payload)
	f.tail.Reset(deflateTail)
	f.mr = io.MultiReader(&f.src, &f.tail)
	var dict []byte
	if f.takeover {
		dict = f.dict
	}
	if f.fr == nil {
		f.fr = flate.NewReaderDict(f.mr, dict)
	} else if err := f.fr.(flate.Resetter).Reset(f.mr, dict); err != nil {
		return dst, protocolError(CloseInvalidPayload, errExtension)
	}
	start := len(dst)
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := f.fr.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if limit > 0 && int64(len(dst)-start) > limit {
			return dst, protocolError(CloseMessageTooBig, "message too big")
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return dst, protocolError(CloseInvalidPayload, errExtension)
		}
	}
	if f.takeover {
		out := dst[start:]
		if len(out) >= maxWindow {
			f.dict = append(f.dict[:0], out[len(out)-maxWindow:]...)
		} else {
			keep := min(len(f.dict), maxWindow-len(out))
			f.dict = append(f.dict[:0], f.dict[len(f.dict)-keep:]...)
			f.dict = append(f.dict, out...)
		}
	}
	return dst, nil
}

// deflater compresses the messages one side sends.
type deflater struct {
	bits       int
	noTakeover bool
	fw         *flate.Writer
	out        bytes.Buffer
}

func newDeflater(d *Deflate, sender Role) *deflater {
	bits, noTakeover := d.sends(sender)
	return &deflater{bits: bits, noTakeover: noTakeover}
}

// compressLevel is the compression level of messages the proxy sends.
const compressLevel = flate.DefaultCompression

// compress compresses the next part of a message; the last part (final)
// is flushed and loses its trailing empty stored block, as RFC 7692
// section 7.2.1 says. What the parts compress to is returned in order:
// a part before the last may compress to nothing yet.
func (z *deflater) compress(part []byte, final bool) ([]byte, error) {
	if z.fw == nil {
		var err error
		if z.bits >= 15 {
			z.fw, err = flate.NewWriter(&z.out, compressLevel)
		} else {
			// A peer that asked for a smaller window cannot reach back
			// further than it.
			z.fw, err = flate.NewWriterWindow(&z.out, 1<<z.bits)
		}
		if err != nil {
			return nil, err
		}
	}
	z.out.Reset()
	if _, err := z.fw.Write(part); err != nil {
		return nil, err
	}
	if !final {
		return z.out.Bytes(), nil
	}
	if err := z.fw.Flush(); err != nil {
		return nil, err
	}
	b := z.out.Bytes()
	if !bytes.HasSuffix(b, deflateTail[:4]) {
		return nil, errors.New("websocket: the compressor's flush did not end with an empty stored block")
	}
	if z.noTakeover {
		z.fw.Reset(&z.out)
	}
	return b[:len(b)-4], nil
}
