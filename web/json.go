package web

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/emoji"
)

// obj is a JSON object; encoding/json sorts its keys, which mitmweb's
// clients do not depend on.
type obj = map[string]any

// FlowJSON is mitmweb's JSON form of a flow (app.py flow_to_json): the
// flow without message bodies (their length and SHA-256 instead) and
// with the first certificate of each connection summarised. The caller
// must be allowed to read f (its own hook, or the view says Readable).
func FlowJSON(f flow.Any) map[string]any {
	b := f.Base()
	marked := markedJSON(b.Marked())
	out := obj{
		"id":                b.ID,
		"intercepted":       b.IsIntercepted(),
		"is_replay":         nullStr(b.IsReplay),
		"type":              f.Type(),
		"modified":          f.Modified(),
		"marked":            marked,
		"comment":           b.Comment(),
		"timestamp_created": b.TimestampCreated,
	}
	if c := b.ClientConn; c != nil {
		out["client_conn"] = obj{
			"id":                  c.ID,
			"peername":            addr(c.Peername),
			"sockname":            addr(c.Sockname),
			"tls_established":     c.TLS,
			"cert":                certJSON(c.CertificateList),
			"sni":                 nullStr(c.SNI),
			"cipher":              nullStr(c.Cipher),
			"alpn":                nullStr(c.ALPN),
			"tls_version":         nullStr(c.TLSVersion),
			"timestamp_start":     nullTime(c.TimestampStart),
			"timestamp_tls_setup": nullTime(c.TimestampTLSSetup),
			"timestamp_end":       nullTime(c.TimestampEnd()),
		}
	}
	if s := b.ServerConn; s != nil {
		out["server_conn"] = obj{
			"id":                  s.ID,
			"peername":            addr(s.Peername),
			"sockname":            addr(s.Sockname),
			"address":             addr(s.Address),
			"tls_established":     s.TLS,
			"cert":                certJSON(s.CertificateList),
			"sni":                 nullStr(s.SNI),
			"cipher":              nullStr(s.Cipher),
			"alpn":                nullStr(s.ALPN),
			"tls_version":         nullStr(s.TLSVersion),
			"timestamp_start":     nullTime(s.TimestampStart),
			"timestamp_tcp_setup": nullTime(s.TimestampTCPSetup),
			"timestamp_tls_setup": nullTime(s.TimestampTLSSetup),
			"timestamp_end":       nullTime(s.TimestampEnd()),
		}
	}
	if e := b.Error; e != nil {
		out["error"] = obj{"msg": e.Msg, "timestamp": e.Timestamp}
	}
	switch f := f.(type) {
	case *flow.HTTPFlow:
		if r := f.Request; r != nil {
			n, h := contentSummary(r.RawContent)
			out["request"] = obj{
				"method":          r.Method,
				"scheme":          r.Scheme,
				"host":            r.Host,
				"port":            r.Port,
				"path":            r.Path,
				"http_version":    r.HTTPVersion,
				"headers":         headersJSON(r.Headers),
				"contentLength":   n,
				"contentHash":     h,
				"timestamp_start": r.TimestampStart,
				"timestamp_end":   nullTime(r.TimestampEnd),
				"pretty_host":     r.PrettyHost(),
			}
		}
		if r := f.Response; r != nil {
			n, h := contentSummary(r.RawContent)
			resp := obj{
				"http_version":    r.HTTPVersion,
				"status_code":     r.StatusCode,
				"reason":          r.Reason,
				"headers":         headersJSON(r.Headers),
				"contentLength":   n,
				"contentHash":     h,
				"timestamp_start": r.TimestampStart,
				"timestamp_end":   nullTime(r.TimestampEnd),
			}
			if r.Trailers != nil {
				resp["trailers"] = headersJSON(r.Trailers)
			}
			out["response"] = resp
		}
		if ws := f.WebSocket; ws != nil {
			var closedBy any
			if ws.ClosedByClient != nil {
				closedBy = *ws.ClosedByClient
			}
			var code any
			if ws.CloseCode != 0 {
				code = ws.CloseCode
			}
			out["websocket"] = obj{
				"messages_meta":    messagesMeta(ws.Messages, func(m *flow.WebSocketMessage) ([]byte, float64) { return m.Content, m.Timestamp }),
				"closed_by_client": closedBy,
				"close_code":       code,
				"close_reason":     nullStr(ws.CloseReason),
				"timestamp_end":    nullTime(ws.TimestampEnd),
			}
		}
	case *flow.TCPFlow:
		out["messages_meta"] = messagesMeta(f.Messages, func(m *flow.TCPMessage) ([]byte, float64) { return m.Content, m.Timestamp })
	case *flow.UDPFlow:
		out["messages_meta"] = messagesMeta(f.Messages, func(m *flow.UDPMessage) ([]byte, float64) { return m.Content, m.Timestamp })
	case *flow.DNSFlow:
		if f.Request != nil {
			out["request"] = dnsJSON(f.Request)
		}
		if f.Response != nil {
			out["response"] = dnsJSON(f.Response)
		}
	}
	return out
}

// messagesMeta is mitmweb's summary of a flow's messages: their total
// size, count and the time of the last one. at gives a message's content
// and timestamp.
func messagesMeta[M any](ms []M, at func(M) ([]byte, float64)) obj {
	size := 0
	for _, m := range ms {
		c, _ := at(m)
		size += len(c)
	}
	var last any
	if len(ms) > 0 {
		_, t := at(ms[len(ms)-1])
		last = t
	}
	return obj{"contentLength": size, "count": len(ms), "timestamp_last": last}
}

// markedJSON is a marker as mitmweb shows it: its character ("" for none).
func markedJSON(name string) string {
	if name == "" {
		return ""
	}
	if c, ok := emoji.Lookup(name); ok {
		return c
	}
	return "🔴"
}

// contentSummary is a body's length and SHA-256 (hex), or nulls for a
// body that is absent (not merely empty).
func contentSummary(b []byte) (any, any) {
	if b == nil {
		return nil, nil
	}
	sum := sha256.Sum256(b)
	return len(b), hex.EncodeToString(sum[:])
}

// headersJSON is a header list as [name, value] pairs, in order.
func headersJSON(h flow.Headers) [][2]string {
	out := make([][2]string, len(h))
	for i, f := range h {
		out[i] = [2]string{f.Name, f.Value}
	}
	return out
}

// addr is a connection address as Python's (host, port) tuple, or null.
func addr(a flow.Address) any {
	if a.Host == "" && a.Port == 0 {
		return nil
	}
	return []any{a.Host, a.Port}
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t float64) any {
	if t == 0 {
		return nil
	}
	return t
}

// certJSON summarises the first certificate of a chain (app.py
// cert_to_json), or null.
func certJSON(chain [][]byte) any {
	if len(chain) == 0 {
		return nil
	}
	c, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(chain[0])
	var keyinfo []any
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		keyinfo = []any{"RSA", k.N.BitLen()}
	case *ecdsa.PublicKey:
		keyinfo = []any{"EC", k.Curve.Params().BitSize}
	default:
		keyinfo = []any{c.PublicKeyAlgorithm.String(), 0}
	}
	subject, issuer := rdnPairs(c.Subject.Names), rdnPairs(c.Issuer.Names)
	alt := make([]string, 0, len(c.DNSNames)+len(c.IPAddresses))
	alt = append(alt, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		alt = append(alt, ip.String())
	}
	return obj{
		"keyinfo":   keyinfo,
		"sha256":    hex.EncodeToString(sum[:]),
		"notbefore": c.NotBefore.Unix(),
		"notafter":  c.NotAfter.Unix(),
		"serial":    c.SerialNumber.String(),
		"subject":   subject,
		"issuer":    issuer,
		"altnames":  alt,
	}
}

// oidNames are the short names of the attributes mitmproxy's certificate
// summary shows (OpenSSL's).
var oidNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST",
	"2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.5": "serialNumber",
	"1.2.840.113549.1.9.1": "emailAddress",
}

// rdnPairs is a distinguished name as [name, value] pairs.
func rdnPairs(names []pkix.AttributeTypeAndValue) [][2]string {
	out := make([][2]string, 0, len(names))
	for _, n := range names {
		k := n.Type.String()
		if s, ok := oidNames[k]; ok {
			k = s
		}
		out = append(out, [2]string{k, fmt.Sprint(n.Value)})
	}
	return out
}

var dnsTypeNames = map[int]string{
	flow.DNSTypeA: "A", flow.DNSTypeNS: "NS", flow.DNSTypeCNAME: "CNAME", flow.DNSTypeSOA: "SOA",
	flow.DNSTypePTR: "PTR", flow.DNSTypeMX: "MX", flow.DNSTypeTXT: "TXT", flow.DNSTypeAAAA: "AAAA",
	flow.DNSTypeSRV: "SRV", flow.DNSTypeOPT: "OPT", flow.DNSTypeHTTPS: "HTTPS",
}

var dnsRcodeNames = map[int]string{
	flow.DNSNoError: "NOERROR", flow.DNSFormErr: "FORMERR", flow.DNSServFail: "SERVFAIL",
	flow.DNSNXDomain: "NXDOMAIN", flow.DNSNotImp: "NOTIMP", flow.DNSRefused: "REFUSED",
}

func dnsName(m map[int]string, v int) string {
	if s, ok := m[v]; ok {
		return s
	}
	return "TYPE" + strconv.Itoa(v)
}

// dnsJSON is a DNS message as mitmproxy's Message.to_json.
func dnsJSON(m *flow.DNSMessage) map[string]any {
	class := func(c int) string {
		if c == flow.DNSClassIN {
			return "IN"
		}
		return "CLASS" + strconv.Itoa(c)
	}
	rrs := func(list []flow.DNSResourceRecord) []any {
		out := make([]any, 0, len(list))
		for i := range list {
			r := &list[i]
			out = append(out, obj{"name": r.Name, "type": dnsName(dnsTypeNames, r.Type), "class": class(r.Class), "ttl": r.TTL, "data": r.String()})
		}
		return out
	}
	qs := make([]any, 0, len(m.Questions))
	for _, q := range m.Questions {
		qs = append(qs, obj{"name": q.Name, "type": dnsName(dnsTypeNames, q.Type), "class": class(q.Class)})
	}
	op := "QUERY"
	if m.OpCode != flow.DNSOpQuery {
		op = "OPCODE" + strconv.Itoa(m.OpCode)
	}
	return obj{
		"id": m.ID, "query": m.Query, "op_code": op,
		"authoritative_answer": m.AuthoritativeAnswer, "truncation": m.Truncation,
		"recursion_desired": m.RecursionDesired, "recursion_available": m.RecursionAvailable,
		"response_code": dnsName(dnsRcodeNames, m.ResponseCode),
		"questions":     qs, "answers": rrs(m.Answers), "authorities": rrs(m.Authorities),
		"additionals": rrs(m.Additionals), "timestamp": nullTime(m.Timestamp),
	}
}

// optionsJSON is the options as mitmproxy's optmanager.dump_dicts: for each
// (of names, or of all when names is nil) its type, default, value, help
// and choices. Options of other tools are left out.
func optionsJSON(o *addon.Options, names []string) map[string]any {
	if names == nil {
		names = o.Names()
	}
	out := obj{}
	for _, name := range names {
		opt, v, ok := o.Lookup(name)
		if !ok || opt.Ignored {
			continue
		}
		var choices any
		if len(opt.Choices) > 0 {
			choices = opt.Choices
		}
		out[name] = obj{"type": opt.Kind.String(), "default": jsonValue(opt.Default), "value": jsonValue(v), "help": opt.Help, "choices": choices}
	}
	return out
}

// jsonValue turns an option value (optional kinds are pointers) into JSON.
func jsonValue(v any) any {
	switch v := v.(type) {
	case *string:
		if v == nil {
			return nil
		}
		return *v
	case *int:
		if v == nil {
			return nil
		}
		return *v
	}
	return v
}
