package flow

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/miekg/dns"
)

// The wire format goes through github.com/miekg/dns both ways; this file
// only maps its types to mitmproxy's model. Record data stays raw bytes
// (what mitmproxy keeps), so every record type, known to miekg/dns or not,
// survives a round trip.

const dnsHeaderLen = 12

// UnpackDNSMessage decodes one DNS message (the payload of a UDP datagram,
// without TCP's length prefix), stamped with timestamp (0: none), as
// mitmproxy's DNSMessage.unpack: names lose their trailing dot, record data
// is kept raw (whatever its type, valid or not), with name compression
// undone in the types that may carry it, and bytes after the last record
// are an error.
func UnpackDNSMessage(b []byte, timestamp float64) (*DNSMessage, error) {
	if len(b) < dnsHeaderLen {
		return nil, fmt.Errorf("unpack requires a buffer of %d bytes", dnsHeaderLen)
	}
	flags := binary.BigEndian.Uint16(b[2:4])
	m := &DNSMessage{
		ID:                  int(binary.BigEndian.Uint16(b[0:2])),
		Query:               flags&(1<<15) == 0,
		OpCode:              int(flags>>11) & 0xf,
		AuthoritativeAnswer: flags&(1<<10) != 0,
		Truncation:          flags&(1<<9) != 0,
		RecursionDesired:    flags&(1<<8) != 0,
		RecursionAvailable:  flags&(1<<7) != 0,
		Reserved:            int(flags>>4) & 0x7,
		ResponseCode:        int(flags & 0xf),
		Timestamp:           timestamp,
	}
	off := dnsHeaderLen
	nq := int(binary.BigEndian.Uint16(b[4:]))
	// Counts come from the sender: nothing is allocated from them.
	m.Questions = []DNSQuestion{}
	for i := range nq {
		name, next, err := dns.UnpackDomainName(b, off)
		if err != nil {
			return nil, fmt.Errorf("question #%d: %w", i, err)
		}
		if next+4 > len(b) {
			return nil, fmt.Errorf("question #%d: unpack requires a buffer of 4 bytes", i)
		}
		m.Questions = append(m.Questions, DNSQuestion{
			Name: unFqdn(name), Type: int(binary.BigEndian.Uint16(b[next:])), Class: int(binary.BigEndian.Uint16(b[next+2:])),
		})
		off = next + 4
	}
	var err error
	for si, sec := range [...]struct {
		name string
		dst  *[]DNSResourceRecord
	}{{"answer", &m.Answers}, {"authority", &m.Authorities}, {"additional", &m.Additionals}} {
		n := int(binary.BigEndian.Uint16(b[6+2*si:]))
		if *sec.dst, off, err = unpackRecords(b, off, n); err != nil {
			return nil, fmt.Errorf("%s %w", sec.name, err)
		}
	}
	if off != len(b) {
		return nil, fmt.Errorf("unpack requires a buffer of %d bytes", off)
	}
	return m, nil
}

func unpackRecords(b []byte, off, n int) ([]DNSResourceRecord, int, error) {
	out := []DNSResourceRecord{}
	for i := range n {
		name, next, err := dns.UnpackDomainName(b, off)
		if err != nil {
			return nil, 0, fmt.Errorf("#%d: %w", i, err)
		}
		if next+10 > len(b) {
			return nil, 0, fmt.Errorf("#%d: unpack requires a buffer of 10 bytes", i)
		}
		h := dns.RR_Header{
			Name: name, Rrtype: binary.BigEndian.Uint16(b[next:]), Class: binary.BigEndian.Uint16(b[next+2:]),
			Ttl: binary.BigEndian.Uint32(b[next+4:]), Rdlength: binary.BigEndian.Uint16(b[next+8:]),
		}
		start := next + 10
		end := start + int(h.Rdlength)
		if end > len(b) {
			return nil, 0, fmt.Errorf("#%d: unpack requires a data buffer of %d bytes", i, h.Rdlength)
		}
		data := b[start:end]
		if canCompress(int(h.Rrtype)) {
			data = decompressed(h, b, start, data)
		}
		out = append(out, DNSResourceRecord{
			Name: unFqdn(name), Type: int(h.Rrtype), Class: int(h.Class), TTL: int(h.Ttl), Data: bytes.Clone(data),
		})
		off = end
	}
	return out, off, nil
}

// decompressed returns a record's data with compressed names expanded:
// miekg/dns reads the typed record (following pointers into the message)
// and writes it again uncompressed. Data it cannot read as its type is
// kept as it is, as mitmproxy keeps data it cannot make sense of.
func decompressed(h dns.RR_Header, msg []byte, off int, data []byte) []byte {
	rr, _, err := dns.UnpackRRWithHeader(h, msg, off)
	if err != nil || rr == nil {
		return data
	}
	var raw dns.RFC3597
	if err := raw.ToRFC3597(rr); err != nil {
		return data
	}
	out, err := hex.DecodeString(raw.Rdata)
	if err != nil {
		return data
	}
	return out
}

// canCompress lists the types whose data may hold compressed names
// (mitmproxy's record_data_can_have_compression).
func canCompress(t int) bool {
	switch t {
	case 5, 13, 7, 3, 4, 8, 14, 9, 15, 2, 12, 6, 16, 17, 18, 21, 24, 26, 30, 35, 33:
		return true
	}
	return false
}

// Pack encodes the message for the wire, without name compression (as
// mitmproxy's packed). Out-of-range header fields are errors, with
// mitmproxy's messages.
func (m *DNSMessage) Pack() ([]byte, error) {
	if m.ID < 0 || m.ID > 0xffff {
		return nil, fmt.Errorf("DNS message's id %d is out of bounds.", m.ID)
	}
	if m.OpCode < 0 || m.OpCode > 0xf {
		return nil, fmt.Errorf("DNS message's op_code %d is out of bounds.", m.OpCode)
	}
	if m.Reserved < 0 || m.Reserved > 7 {
		return nil, fmt.Errorf("DNS message's reserved value of %d is out of bounds.", m.Reserved)
	}
	if m.ResponseCode < 0 || m.ResponseCode > 0xf {
		return nil, fmt.Errorf("DNS message's response_code %d is out of bounds.", m.ResponseCode)
	}
	sections := [...][]DNSResourceRecord{m.Answers, m.Authorities, m.Additionals}
	for _, sec := range sections {
		if len(sec) > 0xffff {
			return nil, fmt.Errorf("DNS message has %d records in a section", len(sec))
		}
	}
	if len(m.Questions) > 0xffff {
		return nil, fmt.Errorf("DNS message has %d questions", len(m.Questions))
	}
	msg := dns.Msg{MsgHdr: dns.MsgHdr{
		Id: uint16(m.ID), Response: !m.Query, Opcode: m.OpCode,
		Authoritative: m.AuthoritativeAnswer, Truncated: m.Truncation,
		RecursionDesired: m.RecursionDesired, RecursionAvailable: m.RecursionAvailable,
		Zero: m.Reserved&4 != 0, AuthenticatedData: m.Reserved&2 != 0, CheckingDisabled: m.Reserved&1 != 0,
		Rcode: m.ResponseCode,
	}}
	msg.Question = make([]dns.Question, len(m.Questions))
	for i, q := range m.Questions {
		if err := checkU16("question", q.Type, q.Class); err != nil {
			return nil, err
		}
		msg.Question[i] = dns.Question{Name: toFqdn(q.Name), Qtype: uint16(q.Type), Qclass: uint16(q.Class)}
	}
	// The header and questions are packed as a message; the records one
	// by one as raw (RFC 3597) records, so that their data goes out as it
	// is, whatever its type (a message would want a typed OPT record).
	out, err := msg.Pack()
	if err != nil {
		return nil, fmt.Errorf("packing DNS message: %w", err)
	}
	for si, sec := range sections {
		for _, r := range sec {
			if err := checkU16("record", r.Type, r.Class); err != nil {
				return nil, err
			}
			if r.TTL < 0 || r.TTL > 0xffffffff {
				return nil, fmt.Errorf("record %s: ttl %d is out of bounds", r.Name, r.TTL)
			}
			if len(r.Data) > 0xffff {
				return nil, fmt.Errorf("record %s: %d bytes of data is too long", r.Name, len(r.Data))
			}
			rr := &dns.RFC3597{
				Hdr:   dns.RR_Header{Name: toFqdn(r.Name), Rrtype: uint16(r.Type), Class: uint16(r.Class), Ttl: uint32(r.TTL)},
				Rdata: hex.EncodeToString(r.Data),
			}
			buf := make([]byte, len(out)+dns.Len(rr)+len(r.Name)+16)
			copy(buf, out)
			n, err := dns.PackRR(rr, buf, len(out), nil, false)
			if err != nil {
				return nil, fmt.Errorf("packing DNS record %s: %w", r.Name, err)
			}
			out = buf[:n]
		}
		binary.BigEndian.PutUint16(out[6+2*si:], uint16(len(sec)))
	}
	return out, nil
}

func checkU16(what string, typ, class int) error {
	if typ < 0 || typ > 0xffff {
		return fmt.Errorf("%s type %d is out of bounds", what, typ)
	}
	if class < 0 || class > 0xffff {
		return fmt.Errorf("%s class %d is out of bounds", what, class)
	}
	return nil
}

// unFqdn drops the root's dot from a name as miekg/dns writes it; the root
// itself is "" as in mitmproxy.
func unFqdn(name string) string {
	if dns.IsFqdn(name) {
		return name[:len(name)-1]
	}
	return name
}

func toFqdn(name string) string { return dns.Fqdn(name) }
