package flow

import (
	"fmt"

	"github.com/mitmgo/mitmgo/tnetstring"
)

// State converts a DNS flow to mitmproxy's state dict (type "dns"), as
// mitmproxy 12's DNSFlow.get_state() writes it.
func (f *DNSFlow) State() *tnetstring.Dict {
	d := f.Flow.state("dns")
	d.Set("request", dnsMessageState(f.Request))
	d.Set("response", dnsMessageState(f.Response))
	return d
}

func dnsMessageState(m *DNSMessage) any {
	if m == nil {
		return nil
	}
	d := tnetstring.NewDict()
	d.Set("id", int64(m.ID))
	d.Set("query", m.Query)
	d.Set("op_code", int64(m.OpCode))
	d.Set("authoritative_answer", m.AuthoritativeAnswer)
	d.Set("truncation", m.Truncation)
	d.Set("recursion_desired", m.RecursionDesired)
	d.Set("recursion_available", m.RecursionAvailable)
	d.Set("reserved", int64(m.Reserved))
	d.Set("response_code", int64(m.ResponseCode))
	qs := make([]any, len(m.Questions))
	for i, q := range m.Questions {
		qd := tnetstring.NewDict()
		qd.Set("name", q.Name)
		qd.Set("type", int64(q.Type))
		qd.Set("class_", int64(q.Class))
		qs[i] = qd
	}
	d.Set("questions", qs)
	d.Set("answers", recordsState(m.Answers))
	d.Set("authorities", recordsState(m.Authorities))
	d.Set("additionals", recordsState(m.Additionals))
	d.Set("timestamp", optFloat(m.Timestamp))
	return d
}

func recordsState(rs []DNSResourceRecord) []any {
	out := make([]any, len(rs))
	for i, r := range rs {
		rd := tnetstring.NewDict()
		rd.Set("name", r.Name)
		rd.Set("type", int64(r.Type))
		rd.Set("class_", int64(r.Class))
		rd.Set("ttl", int64(r.TTL))
		rd.Set("data", nonNilBytes(r.Data))
		out[i] = rd
	}
	return out
}

// dnsFlowFromState reads the DNS part of a state dict into a flow whose
// shared fields are base.
func dnsFlowFromState(d *tnetstring.Dict, base *Flow) (*DNSFlow, error) {
	f := &DNSFlow{}
	moveFlow(&f.Flow, base)
	rq := d.Dict("request")
	if rq == nil {
		return nil, fmt.Errorf("dns flow %s has no request", base.ID)
	}
	var err error
	if f.Request, err = DNSMessageFromState(rq); err != nil {
		return nil, fmt.Errorf("dns flow %s: request: %w", base.ID, err)
	}
	if rs := d.Dict("response"); rs != nil {
		if f.Response, err = DNSMessageFromState(rs); err != nil {
			return nil, fmt.Errorf("dns flow %s: response: %w", base.ID, err)
		}
	}
	return f, nil
}

// DNSMessageFromState reads a DNS message's state dict (mitmproxy's
// DNSMessage.get_state()).
func DNSMessageFromState(d *tnetstring.Dict) (*DNSMessage, error) {
	// As mitmproxy's from_state: every field must be there.
	for _, k := range [...]string{"id", "query", "op_code", "authoritative_answer", "truncation", "recursion_desired",
		"recursion_available", "reserved", "response_code", "questions", "answers", "authorities", "additionals"} {
		if !d.Has(k) {
			return nil, fmt.Errorf("DNS message state has no %s", k)
		}
	}
	m := &DNSMessage{
		ID: int(d.Int("id")), Query: d.Bool("query"), OpCode: int(d.Int("op_code")),
		AuthoritativeAnswer: d.Bool("authoritative_answer"), Truncation: d.Bool("truncation"),
		RecursionDesired: d.Bool("recursion_desired"), RecursionAvailable: d.Bool("recursion_available"),
		Reserved: int(d.Int("reserved")), ResponseCode: int(d.Int("response_code")),
		Timestamp: d.Float("timestamp"),
	}
	m.Questions = make([]DNSQuestion, 0, len(d.List("questions")))
	for i, v := range d.List("questions") {
		q, ok := v.(*tnetstring.Dict)
		if !ok {
			return nil, fmt.Errorf("question #%d is not a dict", i)
		}
		m.Questions = append(m.Questions, DNSQuestion{Name: q.Str("name"), Type: int(q.Int("type")), Class: int(q.Int("class_"))})
	}
	var err error
	for _, sec := range [...]struct {
		key string
		dst *[]DNSResourceRecord
	}{{"answers", &m.Answers}, {"authorities", &m.Authorities}, {"additionals", &m.Additionals}} {
		if *sec.dst, err = recordsFromState(d.List(sec.key)); err != nil {
			return nil, fmt.Errorf("%s: %w", sec.key, err)
		}
	}
	return m, nil
}

func recordsFromState(l []any) ([]DNSResourceRecord, error) {
	out := make([]DNSResourceRecord, 0, len(l))
	for i, v := range l {
		r, ok := v.(*tnetstring.Dict)
		if !ok {
			return nil, fmt.Errorf("record #%d is not a dict", i)
		}
		out = append(out, DNSResourceRecord{
			Name: r.Str("name"), Type: int(r.Int("type")), Class: int(r.Int("class_")),
			TTL: int(r.Int("ttl")), Data: nonNilBytes(ownBytes(r.Bytes("data"))),
		})
	}
	return out, nil
}

// Backup is HTTPFlow.Backup for a DNS flow.
func (f *DNSFlow) Backup() { f.Flow.saveBackup(f.State) }

// Modified is HTTPFlow.Modified for a DNS flow.
func (f *DNSFlow) Modified() bool { return f.Flow.modified(f.State) }

// Revert is HTTPFlow.Revert for a DNS flow.
func (f *DNSFlow) Revert() bool {
	return revert(&f.Flow, func(t *DNSFlow) { f.Request, f.Response = t.Request, t.Response })
}

// Copy returns a deep copy with a new id that is not live, as HTTPFlow.Copy.
func (f *DNSFlow) Copy() *DNSFlow {
	c := &DNSFlow{Request: f.Request.Clone(), Response: f.Response.Clone()}
	f.Flow.copyInto(&c.Flow)
	return c
}

// TimestampStart is the request's timestamp, or the flow's creation time.
func (f *DNSFlow) TimestampStart() float64 {
	if f.Request != nil && f.Request.Timestamp != 0 {
		return f.Request.Timestamp
	}
	return f.TimestampCreated
}
