package mitmgo_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/mitmgo/mitmgo"
	"github.com/mitmgo/mitmgo/flow"
)

// AddHeader is an addon: a value with the hook methods it needs.
type AddHeader struct{}

// Response is called with every response before it goes to the client.
func (AddHeader) Response(f *flow.HTTPFlow) {
	f.Response.Headers.Set("X-Proxied-By", "mitmgo")
}

// A proxy on a port of its own, with an addon of its own.
func Example() {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello")
	}))
	defer origin.Close()
	confdir, _ := os.MkdirTemp("", "mitmgo-example") // where the CA is kept (default ~/.mitmproxy)
	defer os.RemoveAll(confdir)

	p, err := mitmgo.New(mitmgo.Config{Addons: []any{AddHeader{}}, Out: io.Discard})
	if err != nil {
		log.Fatal(err)
	}
	p.Opts.Confdir.Set(confdir)
	p.Opts.ListenHost.Set("127.0.0.1")
	p.Opts.ListenPort.Set(new(0)) // any free port; unset is 8080
	if err := p.Start(); err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(p.URL())}}
	resp, err := client.Get(origin.URL)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.Header.Get("X-Proxied-By"), string(body))
	// Output: mitmgo hello
}
