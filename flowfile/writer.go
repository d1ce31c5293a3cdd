package flowfile

import (
	"fmt"
	"io"

	"github.com/mitmgo/mitmgo/tnetstring"
)

// Writer writes flows to a mitmproxy flow file.
type Writer struct {
	w       io.Writer
	version int
	buf     []byte
	err     error
}

// Supported output versions.
const (
	// Version21 is what mitmproxy 11.0 to 12.2 (and later) write and read.
	Version21 = 21
	// Version17 is what mitmproxy 8.1 writes; it is the newest format
	// Debian bookworm's mitmproxy 8.1.1 reads.
	Version17 = 17
)

// NewWriter returns a Writer that writes flows of the given format version
// to w: 21 (also for 0) or 17. Writes fail for other versions.
func NewWriter(w io.Writer, version int) *Writer {
	if version == 0 {
		version = FormatVersion
	}
	return &Writer{w: w, version: version}
}

// Write appends one flow, given as a version 21 state dict (as Reader.Next
// returns). Version 21 output writes the dict as it is; version 17 output
// converts it to the layout mitmproxy 8.1.1 writes, dropping what that
// version cannot hold (the client's proxy_mode and the connections'
// transport_protocol). UDP flows cannot be written as version 17.
func (w *Writer) Write(f *tnetstring.Dict) error {
	if w.err != nil {
		return w.err
	}
	var out *tnetstring.Dict
	switch w.version {
	case Version21:
		out = f
	case Version17:
		var err error
		if out, err = downgrade17(f); err != nil {
			return err
		}
	default:
		return fmt.Errorf("flowfile: cannot write flow format version %d (supported: 21, 17)", w.version)
	}
	var err error
	w.buf, err = tnetstring.AppendValue(w.buf[:0], out)
	if err != nil {
		return fmt.Errorf("flowfile: %w", err)
	}
	if _, err := w.w.Write(w.buf); err != nil {
		w.err = err
		return err
	}
	if cap(w.buf) > 4<<20 {
		w.buf = nil // do not keep a huge buffer around after a big flow
	}
	return nil
}

// downgrade17 converts a v21 state dict to what mitmproxy 8.1.1's
// get_state() returns: the inverse of the migration steps 17->18 to 20->21
// and 8.1.1's key order.
func downgrade17(f *tnetstring.Dict) (*tnetstring.Dict, error) {
	typ := f.Str("type")
	switch typ {
	case "http", "tcp", "dns":
	case "udp":
		return nil, fmt.Errorf("flowfile: mitmproxy 8.1 cannot read UDP flows; flow %s not written", f.Str("id"))
	default:
		return nil, fmt.Errorf("flowfile: unknown flow type %q", typ)
	}
	out := &tnetstring.Dict{Entries: make([]tnetstring.Entry, 0, 17)}
	c := canon{src: f, dst: out}
	c.set("id", nil)
	c.set("error", nil)
	c.set("client_conn", func(v any) any { return downgradeConn(v, false) })
	c.set("server_conn", func(v any) any { return downgradeConn(v, true) })
	c.set("intercepted", nil)
	c.set("is_replay", nil)
	c.set("marked", nil)
	c.setOr("metadata", newDict, nil)
	c.setOr("comment", "", nil)
	c.set("timestamp_created", nil)
	switch typ {
	case "http":
		c.set("request", nil)
		c.set("response", nil)
		c.set("websocket", nil)
	case "tcp":
		c.setOr("messages", newList, nil)
	case "dns":
		c.set("request", downgradeDNS)
		c.set("response", downgradeDNS)
	}
	c.put("version", int64(Version17))
	c.put("type", typ)
	if b := f.Dict("backup"); b != nil {
		if v, _ := b.Get("version"); v == int64(FormatVersion) {
			db, err := downgrade17(b)
			if err != nil {
				return nil, err
			}
			c.put("backup", db)
		} else {
			c.put("backup", b)
		}
	}
	return out, nil
}

func quicDown(v any) any {
	if s, ok := v.(string); ok && s == "QUICv1" {
		return "QUIC"
	}
	return v
}

func downgradeConn(v any, server bool) any {
	src, ok := v.(*tnetstring.Dict)
	if !ok || src == nil {
		return v
	}
	d := tnetstring.NewDict()
	d.Entries = make([]tnetstring.Entry, 0, 21)
	tlsEstablished := get(src, "timestamp_tls_setup") != nil
	if !server {
		d.Set("address", get(src, "peername"))
		d.Set("alpn", get(src, "alpn"))
		d.Set("cipher_name", get(src, "cipher"))
		d.Set("id", get(src, "id"))
		d.Set("mitmcert", get(src, "mitmcert"))
		d.Set("sni", get(src, "sni"))
		d.Set("timestamp_end", get(src, "timestamp_end"))
		d.Set("timestamp_start", get(src, "timestamp_start"))
		d.Set("timestamp_tls_setup", get(src, "timestamp_tls_setup"))
		d.Set("tls_established", tlsEstablished)
		d.Set("tls_extensions", []any{})
		d.Set("tls_version", quicDown(get(src, "tls_version")))
		d.Set("state", int64(0))
		d.Set("sockname", get(src, "sockname"))
		d.Set("error", get(src, "error"))
		d.Set("tls", orDefault(get(src, "tls"), false))
		d.Set("certificate_list", orDefault(get(src, "certificate_list"), []any{}))
		d.Set("alpn_offers", orDefault(get(src, "alpn_offers"), []any{}))
		d.Set("cipher_list", orDefault(get(src, "cipher_list"), []any{}))
		return d
	}
	d.Set("address", get(src, "address"))
	d.Set("alpn", get(src, "alpn"))
	d.Set("id", get(src, "id"))
	d.Set("ip_address", get(src, "peername"))
	d.Set("sni", get(src, "sni"))
	d.Set("source_address", get(src, "sockname"))
	d.Set("timestamp_end", get(src, "timestamp_end"))
	d.Set("timestamp_start", get(src, "timestamp_start"))
	d.Set("timestamp_tcp_setup", get(src, "timestamp_tcp_setup"))
	d.Set("timestamp_tls_setup", get(src, "timestamp_tls_setup"))
	d.Set("tls_established", tlsEstablished)
	d.Set("tls_version", quicDown(get(src, "tls_version")))
	d.Set("via", nil)
	d.Set("state", int64(0))
	d.Set("error", get(src, "error"))
	d.Set("tls", orDefault(get(src, "tls"), false))
	d.Set("certificate_list", orDefault(get(src, "certificate_list"), []any{}))
	d.Set("alpn_offers", orDefault(get(src, "alpn_offers"), []any{}))
	d.Set("cipher_name", get(src, "cipher"))
	d.Set("cipher_list", orDefault(get(src, "cipher_list"), []any{}))
	d.Set("via2", get(src, "via"))
	return d
}

func orDefault(v, def any) any {
	if v == nil {
		return def
	}
	return v
}

// downgradeDNS moves the timestamp to the front, where 8.1.1 keeps it.
func downgradeDNS(v any) any {
	src, ok := v.(*tnetstring.Dict)
	if !ok || src == nil {
		return v
	}
	d := tnetstring.NewDict()
	d.Set("timestamp", get(src, "timestamp"))
	for _, e := range src.Entries {
		if e.Key != "timestamp" {
			d.Entries = append(d.Entries, e)
		}
	}
	return d
}
