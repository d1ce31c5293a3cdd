package flow

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/miekg/dns"
)

// DNS parameters as mitmproxy's mitmproxy.net.dns modules name them.
const (
	DNSTypeA     = 1
	DNSTypeNS    = 2
	DNSTypeCNAME = 5
	DNSTypeSOA   = 6
	DNSTypePTR   = 12
	DNSTypeMX    = 15
	DNSTypeTXT   = 16
	DNSTypeAAAA  = 28
	DNSTypeSRV   = 33
	DNSTypeOPT   = 41
	DNSTypeHTTPS = 65

	DNSClassIN = 1

	DNSOpQuery = 0

	DNSNoError  = 0
	DNSFormErr  = 1
	DNSServFail = 2
	DNSNXDomain = 3
	DNSNotImp   = 4
	DNSRefused  = 5
)

// DNSDefaultTTL is mitmproxy's ResourceRecord.DEFAULT_TTL.
const DNSDefaultTTL = 60

// DNSQuestion is one entry of a message's question section.
type DNSQuestion struct {
	// Name has no trailing dot, as mitmproxy writes it ("example.com").
	Name  string
	Type  int
	Class int
}

// DNSResourceRecord is one record of the answer, authority or additional
// section. Data is the record's data on the wire, with any name
// compression undone, as mitmproxy keeps it.
type DNSResourceRecord struct {
	Name  string
	Type  int
	Class int
	TTL   int
	Data  []byte
}

// DNSMessage is a DNS query or response, field for field mitmproxy's
// dns.DNSMessage.
type DNSMessage struct {
	ID                  int
	Query               bool
	OpCode              int
	AuthoritativeAnswer bool
	Truncation          bool
	RecursionDesired    bool
	RecursionAvailable  bool
	// Reserved is the three bits between RA and RCODE (Z, AD and CD).
	Reserved     int
	ResponseCode int
	Questions    []DNSQuestion
	Answers      []DNSResourceRecord
	Authorities  []DNSResourceRecord
	Additionals  []DNSResourceRecord
	// Timestamp is when the message was sent or received; 0 when unknown
	// (mitmproxy's None).
	Timestamp float64
}

// DNSFlow is one DNS query and its response, or the error that ended it.
type DNSFlow struct {
	Flow
	Request  *DNSMessage
	Response *DNSMessage
}

// NewDNSFlow returns a live DNS flow.
func NewDNSFlow(client *Client, server *Server) *DNSFlow {
	return &DNSFlow{Flow: newFlow(client, server, true)}
}

// Type is "dns".
func (f *DNSFlow) Type() string { return "dns" }

// Question is the message's only question, or nil when it has none or
// several (mitmproxy's message.question).
func (m *DNSMessage) Question() *DNSQuestion {
	if len(m.Questions) == 1 {
		return &m.Questions[0]
	}
	return nil
}

// Size is the total size of the data of all records (mitmproxy's size).
func (m *DNSMessage) Size() int {
	n := 0
	for _, sec := range [...][]DNSResourceRecord{m.Answers, m.Authorities, m.Additionals} {
		for _, r := range sec {
			n += len(r.Data)
		}
	}
	return n
}

// Succeed returns a response to the query m carrying answers, as
// mitmproxy's succeed().
func (m *DNSMessage) Succeed(answers []DNSResourceRecord) *DNSMessage {
	r := m.reply()
	r.RecursionAvailable = true
	r.ResponseCode = DNSNoError
	r.Answers = answers
	return r
}

// Fail returns an error response to the query m, as mitmproxy's fail(); the
// code must not be NOERROR.
func (m *DNSMessage) Fail(rcode int) (*DNSMessage, error) {
	if rcode == DNSNoError {
		return nil, errors.New("response_code must be an error code.")
	}
	r := m.reply()
	r.ResponseCode = rcode
	return r, nil
}

func (m *DNSMessage) reply() *DNSMessage {
	return &DNSMessage{
		Timestamp: nowSeconds(), ID: m.ID, Query: false, OpCode: m.OpCode,
		RecursionDesired: m.RecursionDesired,
		Questions:        append([]DNSQuestion(nil), m.Questions...),
		Answers:          []DNSResourceRecord{},
		Authorities:      []DNSResourceRecord{},
		Additionals:      []DNSResourceRecord{},
	}
}

// Clone returns a deep copy (nil for nil).
func (m *DNSMessage) Clone() *DNSMessage {
	if m == nil {
		return nil
	}
	c := *m
	c.Questions = append([]DNSQuestion(nil), m.Questions...)
	c.Answers = cloneRecords(m.Answers)
	c.Authorities = cloneRecords(m.Authorities)
	c.Additionals = cloneRecords(m.Additionals)
	return &c
}

func cloneRecords(rs []DNSResourceRecord) []DNSResourceRecord {
	if rs == nil {
		return nil
	}
	out := make([]DNSResourceRecord, len(rs))
	for i, r := range rs {
		r.Data = cloneBytes(r.Data)
		out[i] = r
	}
	return out
}

// String lists the message's questions and records, one a line, as
// mitmproxy's str(message).
func (m *DNSMessage) String() string {
	var parts []string
	for _, q := range m.Questions {
		parts = append(parts, q.Name)
	}
	for _, sec := range [...][]DNSResourceRecord{m.Answers, m.Authorities, m.Additionals} {
		for _, r := range sec {
			parts = append(parts, r.String())
		}
	}
	return strings.Join(parts, "\r\n")
}

// Record constructors, as mitmproxy's ResourceRecord.A(...) and so on.

// DNSRecordA returns an A record for name.
func DNSRecordA(name string, ip netip.Addr, ttl int) DNSResourceRecord {
	b := ip.As4()
	return DNSResourceRecord{Name: name, Type: DNSTypeA, Class: DNSClassIN, TTL: ttl, Data: b[:]}
}

// DNSRecordAAAA returns an AAAA record for name.
func DNSRecordAAAA(name string, ip netip.Addr, ttl int) DNSResourceRecord {
	b := ip.As16()
	return DNSResourceRecord{Name: name, Type: DNSTypeAAAA, Class: DNSClassIN, TTL: ttl, Data: b[:]}
}

// DNSRecordCNAME returns a CNAME record pointing alias to canonical.
func DNSRecordCNAME(alias, canonical string, ttl int) (DNSResourceRecord, error) {
	d, err := PackDomainName(canonical)
	return DNSResourceRecord{Name: alias, Type: DNSTypeCNAME, Class: DNSClassIN, TTL: ttl, Data: d}, err
}

// DNSRecordTXT returns a TXT record holding text as it is (mitmproxy packs
// the text's UTF-8 bytes without a length prefix).
func DNSRecordTXT(name, text string, ttl int) DNSResourceRecord {
	return DNSResourceRecord{Name: name, Type: DNSTypeTXT, Class: DNSClassIN, TTL: ttl, Data: []byte(text)}
}

// IPv4Address is the record's data as an IPv4 address (A records).
func (r *DNSResourceRecord) IPv4Address() (netip.Addr, error) {
	if len(r.Data) != 4 {
		return netip.Addr{}, fmt.Errorf("%d bytes are not an IPv4 address", len(r.Data))
	}
	return netip.AddrFrom4([4]byte(r.Data)), nil
}

// IPv6Address is the record's data as an IPv6 address (AAAA records).
func (r *DNSResourceRecord) IPv6Address() (netip.Addr, error) {
	if len(r.Data) != 16 {
		return netip.Addr{}, fmt.Errorf("%d bytes are not an IPv6 address", len(r.Data))
	}
	return netip.AddrFrom16([16]byte(r.Data)), nil
}

// Text is the record's data as text (mitmproxy's text: the bytes as UTF-8).
func (r *DNSResourceRecord) Text() string { return string(r.Data) }

// DomainName is the record's data as an uncompressed domain name (NS,
// CNAME, PTR records).
func (r *DNSResourceRecord) DomainName() (string, error) {
	name, off, err := dns.UnpackDomainName(r.Data, 0)
	if err != nil {
		return "", err
	}
	if off != len(r.Data) {
		return "", fmt.Errorf("unpack requires a buffer of %d bytes", off)
	}
	return unFqdn(name), nil
}

// PackDomainName encodes name (no trailing dot needed) as record data,
// without compression.
func PackDomainName(name string) ([]byte, error) {
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(dns.Fqdn(name), buf, 0, nil, false)
	if err != nil {
		return nil, fmt.Errorf("domain name %q: %w", name, err)
	}
	return buf[:n], nil
}

// String is the record's data in mitmproxy's readable form: an address for
// A and AAAA, a name for NS, CNAME and PTR, the text of TXT, else hex.
func (r *DNSResourceRecord) String() string {
	hexData := func() string { return "0x" + hex.EncodeToString(r.Data) }
	invalid := func() string { return hexData() + " (invalid " + DNSTypeString(r.Type) + " data)" }
	switch r.Type {
	case DNSTypeA:
		ip, err := r.IPv4Address()
		if err != nil {
			return invalid()
		}
		return ip.String()
	case DNSTypeAAAA:
		ip, err := r.IPv6Address()
		if err != nil {
			return invalid()
		}
		return ip.String()
	case DNSTypeNS, DNSTypeCNAME, DNSTypePTR:
		n, err := r.DomainName()
		if err != nil {
			return invalid()
		}
		return n
	case DNSTypeTXT:
		if !utf8.Valid(r.Data) {
			return invalid()
		}
		return string(r.Data)
	}
	return hexData()
}

// DNSTypeString names a record type as mitmproxy does ("A", "TYPE(999)").
func DNSTypeString(t int) string {
	if t == 23 {
		return "NSAP_PTR" // miekg/dns spells it NSAP-PTR
	}
	if t >= 0 && t <= 0xffff {
		if s, ok := dns.TypeToString[uint16(t)]; ok && t != 0 && t != 0xff00 && t != 0xffff {
			return s
		}
	}
	return "TYPE(" + strconv.Itoa(t) + ")"
}

// DNSClassString names a class as mitmproxy does ("IN", "CLASS(7)").
func DNSClassString(c int) string {
	switch c {
	case 1:
		return "IN"
	case 3:
		return "CH"
	case 4:
		return "HS"
	case 254:
		return "NONE"
	case 255:
		return "ANY"
	}
	return "CLASS(" + strconv.Itoa(c) + ")"
}

var dnsOpCodes = map[int]string{0: "QUERY", 1: "IQUERY", 2: "STATUS", 4: "NOTIFY", 5: "UPDATE", 6: "DSO"}

// DNSOpCodeString names an op code as mitmproxy does ("QUERY", "OPCODE(3)").
func DNSOpCodeString(op int) string {
	if s, ok := dnsOpCodes[op]; ok {
		return s
	}
	return "OPCODE(" + strconv.Itoa(op) + ")"
}

var dnsRcodes = []string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI"}

// DNSResponseCodeString names a response code as mitmproxy does
// ("NXDOMAIN", "RCODE(12)").
func DNSResponseCodeString(rc int) string {
	if rc >= 0 && rc < len(dnsRcodes) {
		return dnsRcodes[rc]
	}
	return "RCODE(" + strconv.Itoa(rc) + ")"
}

// DNSResponseCodeFromString is the inverse of DNSResponseCodeString.
func DNSResponseCodeFromString(s string) (int, bool) {
	for i, n := range dnsRcodes {
		if n == s {
			return i, true
		}
	}
	if v, ok := strings.CutPrefix(s, "RCODE("); ok {
		if n, err := strconv.Atoi(strings.TrimSuffix(v, ")")); err == nil {
			return n, true
		}
	}
	return 0, false
}
