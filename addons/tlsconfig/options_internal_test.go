package tlsconfig

import (
	"crypto/tls"
	"slices"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

// configured is the addon in a manager of its own, configured with a CA in
// a temporary confdir and the given option specs.
func configured(t *testing.T, specs ...string) (*addon.Manager, *TLSConfig) {
	t.Helper()
	m := addon.NewManager()
	m.Options().MustAdd("confdir", addon.String, t.TempDir(), "")
	tc := New()
	if err := m.Add(tc); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Set(specs...); err != nil {
		t.Fatal(err)
	}
	return m, tc
}

func startBoth(tc *TLSConfig, client *flow.Client, server *flow.Server) (clientCfg, serverCfg *tls.Config) {
	sd := &addon.TLSData{Client: client, Server: server}
	tc.TLSStartServer(sd)
	cd := &addon.TLSData{Client: client, Server: server, IsClient: true}
	tc.TLSStartClient(cd)
	return cd.Config, sd.Config
}

func newConns() (*flow.Client, *flow.Server) {
	server := &flow.Server{Address: flow.Address{Host: "example.com", Port: 443}}
	server.SNI = "example.com"
	return &flow.Client{}, server
}

// TestTLSOptionsApplied: the options reach both sides' configurations, and
// the cipher lists are recorded into the connections as mitmproxy does.
func TestTLSOptionsApplied(t *testing.T) {
	m, tc := configured(t)
	client, server := newConns()
	ccfg, scfg := startBoth(tc, client, server)
	if ccfg.CipherSuites != nil || scfg.CipherSuites != nil || ccfg.CurvePreferences != nil || scfg.CurvePreferences != nil {
		t.Errorf("defaults changed: %v %v %v %v", ccfg.CipherSuites, scfg.CipherSuites, ccfg.CurvePreferences, scfg.CurvePreferences)
	}
	if ccfg.ClientAuth != tls.NoClientCert {
		t.Errorf("client certificates requested by default")
	}
	if client.CipherList != nil || server.CipherList != nil {
		t.Errorf("cipher lists recorded without the options: %v %v", client.CipherList, server.CipherList)
	}

	if err := m.Options().Set("ciphers_client=ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256",
		"ciphers_server=CHACHA20", "tls_ecdh_curve_client=secp384r1", "tls_ecdh_curve_server=X25519:prime256v1",
		"request_client_cert=true"); err != nil {
		t.Fatal(err)
	}
	client, server = newConns()
	ccfg, scfg = startBoth(tc, client, server)
	if want := []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}; !slices.Equal(ccfg.CipherSuites, want) {
		t.Errorf("client side suites %v, want %v", ccfg.CipherSuites, want)
	}
	if want := []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256}; !slices.Equal(scfg.CipherSuites, want) {
		t.Errorf("server side suites %v, want %v", scfg.CipherSuites, want)
	}
	if want := []tls.CurveID{tls.CurveP384}; !slices.Equal(ccfg.CurvePreferences, want) {
		t.Errorf("client side curves %v, want %v", ccfg.CurvePreferences, want)
	}
	if want := []tls.CurveID{tls.X25519, tls.CurveP256}; !slices.Equal(scfg.CurvePreferences, want) {
		t.Errorf("server side curves %v, want %v", scfg.CurvePreferences, want)
	}
	if ccfg.ClientAuth != tls.RequestClientCert {
		t.Errorf("ClientAuth %v, want RequestClientCert", ccfg.ClientAuth)
	}
	// mitmproxy records the option, split at the colons.
	if want := []string{"ECDHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES128-GCM-SHA256"}; !slices.Equal(client.CipherList, want) {
		t.Errorf("client cipher_list %v, want %v", client.CipherList, want)
	}
	if want := []string{"CHACHA20"}; !slices.Equal(server.CipherList, want) {
		t.Errorf("server cipher_list %v, want %v", server.CipherList, want)
	}

	// A connection's own cipher list wins over the option.
	client, server = newConns()
	client.CipherList = []string{"AES256-SHA"}
	server.CipherList = []string{"ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA"}
	ccfg, scfg = startBoth(tc, client, server)
	if want := []uint16{tls.TLS_RSA_WITH_AES_256_CBC_SHA}; !slices.Equal(ccfg.CipherSuites, want) {
		t.Errorf("client side suites %v, want the connection's %v", ccfg.CipherSuites, want)
	}
	if want := []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}; !slices.Equal(scfg.CipherSuites, want) {
		t.Errorf("server side suites %v, want the connection's %v", scfg.CipherSuites, want)
	}
	// One that does not parse fails the handshake with the reason.
	client, server = newConns()
	client.CipherList, server.CipherList = []string{"NOPE"}, []string{"NOPE"}
	ccfg, scfg = startBoth(tc, client, server)
	if _, err := ccfg.GetConfigForClient(&tls.ClientHelloInfo{}); err == nil || !strings.Contains(err.Error(), `"NOPE"`) {
		t.Errorf("client side: %v", err)
	}
	if scfg.VerifyConnection == nil || !strings.Contains(scfg.VerifyConnection(tls.ConnectionState{}).Error(), `"NOPE"`) {
		t.Errorf("server side: the handshake does not fail")
	}

	// Unsetting the options restores the defaults.
	if err := m.Options().Set("ciphers_client=", "ciphers_server=", "tls_ecdh_curve_client=", "tls_ecdh_curve_server=", "request_client_cert=false"); err != nil {
		t.Fatal(err)
	}
	client, server = newConns()
	ccfg, scfg = startBoth(tc, client, server)
	if ccfg.CipherSuites != nil || scfg.CipherSuites != nil || ccfg.CurvePreferences != nil || scfg.CurvePreferences != nil || ccfg.ClientAuth != tls.NoClientCert {
		t.Errorf("options not unset")
	}
}

// TestTLSOptionErrors: bad values are refused, naming the option and the
// value, and the previous configuration stays.
func TestTLSOptionErrors(t *testing.T) {
	m, tc := configured(t, "ciphers_client=HIGH")
	tests := []struct {
		specs []string
		want  []string
	}{
		{[]string{"ciphers_client=NOPE"}, []string{"option ciphers_client", `"NOPE"`}},
		{[]string{"ciphers_server=HIGH:!HIGH"}, []string{"option ciphers_server", "selects no cipher suite"}},
		{[]string{"tls_ecdh_curve_client=nope"}, []string{"option tls_ecdh_curve_client", `"nope"`, "prime256v1"}},
		{[]string{"tls_ecdh_curve_server=secp256k1"}, []string{"option tls_ecdh_curve_server", `"secp256k1"`, "X25519MLKEM768"}},
		{[]string{"ciphers_client=TLS_AES_128_GCM_SHA256", "tls_version_client_max=TLS1_2"}, []string{"option ciphers_client", "only TLS 1.3", "tls_version_client_max"}},
	}
	for _, c := range tests {
		err := m.Options().Set(c.specs...)
		if err == nil {
			t.Errorf("%v accepted", c.specs)
			continue
		}
		for _, s := range c.want {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%v: error %q does not contain %q", c.specs, err, s)
			}
		}
	}
	client, server := newConns()
	ccfg, _ := startBoth(tc, client, server)
	if len(ccfg.CipherSuites) != 17 {
		t.Errorf("the rejected values changed the configuration: %v", ccfg.CipherSuites)
	}
	// TLS 1.3 names alone are fine while TLS 1.3 is allowed: no TLS 1.2
	// suite then.
	if err := m.Options().Set("ciphers_client=TLS_AES_128_GCM_SHA256"); err != nil {
		t.Fatal(err)
	}
	ccfg, _ = startBoth(tc, newClient(), newServer())
	if ccfg.CipherSuites == nil || len(ccfg.CipherSuites) != 0 {
		t.Errorf("TLS 1.3 only: suites %v, want an empty list", ccfg.CipherSuites)
	}
}

func newClient() *flow.Client { c, _ := newConns(); return c }
func newServer() *flow.Server { _, s := newConns(); return s }
