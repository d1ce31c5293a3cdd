// Package dnsresolver answers the queries of mitmgo's dns mode, as
// mitmproxy's dns_resolver addon: A and AAAA queries are resolved through
// the system's resolver (its hosts file and name servers), or through the
// name servers of the dns_name_servers option when it is set; other
// queries are forwarded to the first name server (dns_name_servers, else
// the system's from /etc/resolv.conf). A query an earlier addon (a
// script) answered or failed is left alone, and so are reverse:dns's,
// which go to the reverse proxy's server.
package dnsresolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/spec"
)

var (
	_ addon.LoadHook       = (*Resolver)(nil)
	_ addon.ConfigureHook  = (*Resolver)(nil)
	_ addon.DNSRequestHook = (*Resolver)(nil)
)

// ResolvConf is where the system's name servers are listed.
const ResolvConf = "/etc/resolv.conf"

// lookupTimeout bounds one resolution.
const lookupTimeout = 10 * time.Second

// Resolver is the addon. Its fields may be set before it is added, to
// resolve through something other than the system (tests).
type Resolver struct {
	// LookupIP resolves a name to addresses; network is "ip4" or "ip6".
	// Nil: net.DefaultResolver (the hosts file, then the name servers).
	LookupIP func(ctx context.Context, network, host string) ([]netip.Addr, error)
	// SystemNameServers lists the system's name servers (host or
	// host:port). Nil: those of ResolvConf.
	SystemNameServers func() ([]string, error)

	nameServers addon.Opt[[]string]
	useHosts    addon.Opt[bool]

	mu     sync.Mutex
	cached []string
	loaded bool
}

// New returns the addon.
func New() *Resolver { return &Resolver{} }

// Name is mitmproxy's addon name.
func (r *Resolver) Name() string { return "dnsresolver" }

// Load declares dns_use_hosts_file and dns_name_servers.
func (r *Resolver) Load(l *addon.Loader) {
	r.useHosts = addon.Declare(l, "dns_use_hosts_file", true,
		"Use the hosts file for DNS lookups in regular DNS mode/wireguard mode.")
	r.nameServers = addon.Declare(l, "dns_name_servers", []string{},
		"Name servers to use for lookups in regular DNS mode/wireguard mode. Default: operating system's name servers")
}

// Configure forgets the name servers when the options change.
func (r *Resolver) Configure(updated map[string]bool) error {
	if updated["dns_use_hosts_file"] || updated["dns_name_servers"] {
		r.mu.Lock()
		r.loaded, r.cached = false, nil
		r.mu.Unlock()
	}
	return nil
}

// servers returns the name servers to use: the option's, else the
// system's; empty when unknown.
func (r *Resolver) servers() []string {
	if ns := r.nameServers.Get(); len(ns) > 0 {
		return ns
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.loaded {
		r.loaded = true
		get := r.SystemNameServers
		if get == nil {
			get = systemNameServers
		}
		ns, err := get()
		if err == nil {
			r.cached = ns
		}
	}
	return r.cached
}

func systemNameServers() ([]string, error) {
	c, err := dns.ClientConfigFromFile(ResolvConf)
	if err != nil {
		return nil, err
	}
	return c.Servers, nil
}

// DNSRequest resolves or forwards a dns mode query nobody answered yet.
func (r *Resolver) DNSRequest(f *flow.DNSFlow) {
	if f.ClientConn == nil || spec.ModeName(f.ClientConn.ProxyMode) != spec.ModeDNS ||
		!f.IsLive() || f.Response != nil || f.Error != nil || f.Request == nil {
		return
	}
	q := f.Request.Question()
	if f.Request.Query && f.Request.OpCode == flow.DNSOpQuery && q != nil && q.Class == flow.DNSClassIN &&
		(q.Type == flow.DNSTypeA || q.Type == flow.DNSTypeAAAA) {
		resp, err := r.resolve(f.Request, q)
		if err != nil {
			f.Error = flow.NewError(err.Error())
			return
		}
		f.Response = resp
		return
	}
	// Other records: the best we can do is ask a name server.
	ns := r.servers()
	if len(ns) == 0 {
		f.Error = flow.NewError("Cannot resolve, dns_name_servers unknown.")
		return
	}
	if f.ServerConn == nil {
		f.ServerConn = flow.NewServer(flow.Address{})
		f.ServerConn.TransportProtocol = "udp"
	}
	f.ServerConn.Address = serverAddress(ns[0])
}

func serverAddress(ns string) flow.Address {
	if ap, err := netip.ParseAddrPort(ns); err == nil {
		return flow.Address{Host: ap.Addr().String(), Port: int(ap.Port())}
	}
	return flow.Address{Host: ns, Port: 53}
}

// resolve answers an A or AAAA question, as mitmproxy: a name that does
// not exist is NXDOMAIN, one without addresses of the type an empty
// answer, other failures SERVFAIL.
func (r *Resolver) resolve(req *flow.DNSMessage, q *flow.DNSQuestion) (*flow.DNSMessage, error) {
	network, other := "ip4", "ip6"
	if q.Type == flow.DNSTypeAAAA {
		network, other = "ip6", "ip4"
	}
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	lookup := r.lookup()
	addrs, err := lookup(ctx, network, q.Name)
	if err != nil {
		var de *net.DNSError
		if !errors.As(err, &de) || !de.IsNotFound {
			return req.Fail(flow.DNSServFail)
		}
		// Go says "not found" for a name without addresses of this
		// family too: the name exists when it has the other's.
		if alt, err2 := lookup(ctx, other, q.Name); err2 != nil || len(alt) == 0 {
			return req.Fail(flow.DNSNXDomain)
		}
		addrs = nil
	}
	answers := make([]flow.DNSResourceRecord, 0, len(addrs))
	for _, a := range addrs {
		a = a.Unmap()
		switch {
		case q.Type == flow.DNSTypeA && a.Is4():
			answers = append(answers, flow.DNSResourceRecord{Name: q.Name, Type: q.Type, Class: q.Class, TTL: flow.DNSDefaultTTL, Data: a.AsSlice()})
		case q.Type == flow.DNSTypeAAAA && a.Is6():
			answers = append(answers, flow.DNSResourceRecord{Name: q.Name, Type: q.Type, Class: q.Class, TTL: flow.DNSDefaultTTL, Data: a.AsSlice()})
		}
	}
	return req.Succeed(answers), nil
}

// lookup is the function addresses come from: LookupIP, the name servers
// of dns_name_servers, or the system's resolver (with or without the
// hosts file).
func (r *Resolver) lookup() func(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if r.LookupIP != nil {
		return r.LookupIP
	}
	if ns := r.nameServers.Get(); len(ns) > 0 {
		return func(ctx context.Context, network, host string) ([]netip.Addr, error) {
			return queryServer(ctx, serverAddress(ns[0]), network, host)
		}
	}
	return net.DefaultResolver.LookupNetIP
}

// queryServer asks a name server for a name's addresses.
func queryServer(ctx context.Context, ns flow.Address, network, host string) ([]netip.Addr, error) {
	t := dns.TypeA
	if network == "ip6" {
		t = dns.TypeAAAA
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(host), t)
	c := &dns.Client{Timeout: lookupTimeout}
	resp, _, err := c.ExchangeContext(ctx, m, ns.String())
	if err != nil {
		return nil, fmt.Errorf("asking %s: %w", ns, err)
	}
	if resp.Rcode == dns.RcodeNameError {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	if resp.Rcode != dns.RcodeSuccess {
		return nil, fmt.Errorf("%s answered %s", ns, dns.RcodeToString[resp.Rcode])
	}
	var out []netip.Addr
	for _, rr := range resp.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			if a, ok := netip.AddrFromSlice(rr.A); ok {
				out = append(out, a.Unmap())
			}
		case *dns.AAAA:
			if a, ok := netip.AddrFromSlice(rr.AAAA); ok {
				out = append(out, a)
			}
		}
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return out, nil
}
