package serverplayback_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// TestOfflineHTTPSReplay is server replay's use of the lazy connection
// strategy: HTTPS flows recorded from a server are answered after the
// server is gone. With the eager default the CONNECT itself would fail.
func TestOfflineHTTPSReplay(t *testing.T) {
	origin := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "recorded "+r.URL.Path)
	}))
	trusted := filepath.Join(t.TempDir(), "origin.pem")
	if err := os.WriteFile(trusted, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: origin.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	confdir := t.TempDir()
	flows := filepath.Join(t.TempDir(), "flows")
	get := func(md *testutil.Mitmdump) (int, string, error) {
		data, err := os.ReadFile(filepath.Join(confdir, "mitmproxy-ca-cert.pem"))
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(data)
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			Proxy: http.ProxyURL(md.ProxyURL()), TLSClientConfig: &tls.Config{RootCAs: pool},
		}}
		resp, err := client.Get(origin.URL + "/page")
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), nil
	}

	record := testutil.StartMitmdump(t, "--set", "confdir="+confdir, "--set", "ssl_verify_upstream_trusted_ca="+trusted, "-w", flows)
	if code, body, err := get(record); err != nil || code != 200 || body != "recorded /page" {
		t.Fatalf("recording: %d %q %v", code, body, err)
	}
	record.Stop(t)
	origin.Close()

	replay := testutil.StartMitmdump(t, "--set", "confdir="+confdir, "-S", flows, "--set", "connection_strategy=lazy")
	if code, body, err := get(replay); err != nil || code != 200 || body != "recorded /page" {
		t.Fatalf("offline replay: %d %q %v\n%s", code, body, err, replay.Output())
	}
	eager := testutil.StartMitmdump(t, "--set", "confdir="+confdir, "-S", flows)
	if _, _, err := get(eager); err == nil {
		t.Errorf("with the eager strategy the CONNECT to the server that is gone succeeded")
	}
}
