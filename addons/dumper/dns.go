package dumper

import (
	"fmt"
	"strings"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/human"
)

var (
	_ addon.DNSResponseHook = (*Dumper)(nil)
	_ addon.DNSErrorHook    = (*Dumper)(nil)
	_ addon.UDPMessageHook  = (*Dumper)(nil)
	_ addon.UDPErrorHook    = (*Dumper)(nil)
)

// dnsQuery writes mitmproxy's query line: "CLIENT: DNS QUERY (A) NAME".
func (p *printer) dnsQuery(f *flow.DNSFlow) {
	typ, name := "", ""
	if len(f.Request.Questions) > 0 {
		q := f.Request.Questions[0]
		typ, name = flow.DNSTypeString(q.Type), q.Name
	}
	color := map[string]string{"A": "green", "AAAA": "magenta"}[typ]
	if color == "" {
		color = "red"
	}
	desc := p.style.Apply(fmt.Sprintf("DNS %s (%s)", flow.DNSOpCodeString(f.Request.OpCode), typ), human.Style{Fg: color})
	p.echo(fmt.Sprintf("%s: %s %s", p.client(&f.Flow), desc, p.style.Apply(name, human.Style{Bold: human.On})), 0, human.Style{})
}

// DNSResponse prints the query and its answers (or its response code).
func (d *Dumper) DNSResponse(f *flow.DNSFlow) {
	c := d.cfg.Load()
	if f.Request == nil || f.Response == nil || !d.match(c, f) {
		return
	}
	p := d.printer(c)
	p.dnsQuery(f)
	arrows := p.style.Apply(" <<", human.Style{Bold: human.On})
	var answers string
	if len(f.Response.Answers) > 0 {
		parts := make([]string, len(f.Response.Answers))
		for i := range f.Response.Answers {
			parts[i] = p.style.Apply(f.Response.Answers[i].String(), human.Style{Fg: "bright_blue"})
		}
		answers = strings.Join(parts, ", ")
	} else {
		answers = p.style.Apply(flow.DNSResponseCodeString(f.Response.ResponseCode), human.Style{Fg: "red"})
	}
	p.echo(arrows+" "+answers, 0, human.Style{})
	d.write(p.String())
}

// DNSError prints the query and why it failed.
func (d *Dumper) DNSError(f *flow.DNSFlow) {
	c := d.cfg.Load()
	if f.Request == nil || f.Error == nil || !d.match(c, f) {
		return
	}
	p := d.printer(c)
	p.dnsQuery(f)
	p.echo(" << "+human.EscapeControl(f.Error.Msg, true), 0, human.Style{Fg: "red", Bold: human.On})
	d.write(p.String())
}

// UDPMessage prints the newest datagram.
func (d *Dumper) UDPMessage(f *flow.UDPFlow) { d.streamMessage(f) }

// UDPError prints why a UDP flow failed.
func (d *Dumper) UDPError(f *flow.UDPFlow) { d.streamError(f, "UDP") }
