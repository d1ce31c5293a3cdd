package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// h2ClientDescription names the h2 scenario's Go load generator in the
// report.
const h2ClientDescription = "the harness's Go HTTP/2 client (golang.org/x/net/http2 ClientConn per connection)"

// clientALPN sums what the client agreed on in ALPN over runs, per
// connection.
func clientALPN(runs []row) alpnCounts {
	var c alpnCounts
	for _, r := range runs {
		if r.res != nil && r.res.hasALPN {
			c.h2 += r.res.alpn.h2
			c.h1 += r.res.alpn.h1
			c.none += r.res.alpn.none
		}
	}
	return c
}

// downgraded reports whether a target's connections agreed on something
// other than h2 (the client always offers h2 first).
func downgraded(c alpnCounts) bool { return c.h1+c.none > 0 }

// alpnCell is the h2 table's ALPN column: the protocol the client's
// connections agreed on, marked when it is not HTTP/2.
func alpnCell(target string, c alpnCounts) string {
	switch {
	case c.total() == 0:
		return "-"
	case !downgraded(c):
		return "h2"
	case c.h2 == 0 && c.none == 0:
		return "http/1.1 (DOWNGRADED)"
	case c.h2 == 0 && c.h1 == 0:
		return "none (DOWNGRADED)"
	}
	return c.String() + " (DOWNGRADED)"
}

// printALPN follows the h2 table: which protocol each target agreed on with
// the client, per connection, and which one the origin agreed on with
// whoever connected to it (the client directly, or the proxy upstream); and,
// for every target that did not speak HTTP/2 with the client, a sentence
// saying that its rows are HTTP/1.1.
func printALPN(w io.Writer, o options, rows []row) {
	type seen struct {
		target         string
		client, origin alpnCounts
	}
	var all []*seen
	find := func(target string) *seen {
		for _, s := range all {
			if s.target == target {
				return s
			}
		}
		s := &seen{target: target}
		all = append(all, s)
		return s
	}
	for _, b := range o.bodies {
		for _, g := range groupRuns(rows, scenarioH2, b) {
			s := find(g.target)
			// A failed run's connections still agreed on something.
			runs := append(slices.Clone(g.ok), g.failed...)
			c := clientALPN(runs)
			s.client.h2 += c.h2
			s.client.h1 += c.h1
			s.client.none += c.none
			for _, r := range runs {
				s.origin.h2 += r.originALPN.h2
				s.origin.h1 += r.originALPN.h1
				s.origin.none += r.originALPN.none
			}
		}
	}
	if len(all) == 0 {
		return
	}
	var client, origin []string
	for _, s := range all {
		client = append(client, s.target+" "+s.client.String())
		origin = append(origin, s.target+" "+s.origin.String())
	}
	fmt.Fprintf(w, "  ALPN with the client, per connection (all rounds): %s\n", strings.Join(client, "; "))
	fmt.Fprintf(w, "  ALPN at the origin, per handshake (all rounds; reconnections and h2load's ALPN probe included): %s\n", strings.Join(origin, "; "))
	for _, s := range all {
		if s.client.total() == 0 || !downgraded(s.client) {
			continue
		}
		who := "the proxy"
		if s.target == "direct" {
			who = "the origin"
		}
		fmt.Fprintf(w, "  DOWNGRADED: %s: %s did not agree on h2 on %d of %d connections (the client offered h2, http/1.1);"+
			" those connections carried HTTP/1.1, one request at a time (%d in flight, not %d): its rows are not HTTP/2 figures.\n",
			s.target, who, s.client.h1+s.client.none, s.client.total(), o.conns, o.conns*o.streams)
	}
}
