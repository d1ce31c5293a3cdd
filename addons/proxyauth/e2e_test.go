package proxyauth_test

import (
	"bufio"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// TestEndToEnd runs mitmdump with --proxyauth between clients and an
// origin on 127.0.0.1, for plain requests and CONNECT tunnels.
func TestEndToEnd(t *testing.T) {
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "origin; proxy-authorization="+r.Header.Get("Proxy-Authorization"))
	}))
	host := strings.TrimPrefix(origin.URL, "http://")
	htpasswd := filepath.Join(t.TempDir(), "htpasswd")
	// apr1 "password" (openssl passwd -apr1), {SHA} "sha-pass".
	if err := os.WriteFile(htpasswd, []byte("alice:$apr1$saltsalt$yAAkm4libquA.ZWLHbSBq/\nbob:{SHA}xO2etOilyqtV8o1RvvnmkeBx7QI=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		spec, user, pass string
	}{
		{"user:pass", "user", "pass"},
		{"@" + htpasswd, "alice", "password"},
		{"@" + htpasswd, "bob", "sha-pass"},
	} {
		t.Run(tc.user, func(t *testing.T) {
			md := testutil.StartMitmdump(t, "--proxyauth", tc.spec)

			// Without credentials: 407 with mitmproxy's challenge.
			resp, err := md.Client().Get(origin.URL + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 407 || resp.Header.Get("Proxy-Authenticate") != `Basic realm="mitmproxy"` ||
				!strings.Contains(string(body), "407 Proxy Authentication Required") {
				t.Fatalf("no credentials: %d %v %q", resp.StatusCode, resp.Header, body)
			}

			// With credentials: through, and the origin does not see them.
			proxy := md.ProxyURL()
			proxy.User = url.UserPassword(tc.user, tc.pass)
			client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}, Timeout: 10 * time.Second}
			resp, err = client.Get(origin.URL + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "origin; proxy-authorization=" {
				t.Fatalf("with credentials: %d %q", resp.StatusCode, body)
			}

			// Wrong password: 407.
			proxy.User = url.UserPassword(tc.user, tc.pass+"x")
			resp, err = client.Get(origin.URL + "/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 407 {
				t.Fatalf("wrong password: %d", resp.StatusCode)
			}

			// CONNECT without credentials is refused.
			c := md.Dial(t)
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			_, _ = io.WriteString(c, "CONNECT "+host+" HTTP/1.1\r\nHost: "+host+"\r\n\r\n")
			resp, err = http.ReadResponse(br, &http.Request{Method: "CONNECT"})
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 407 || resp.Header.Get("Proxy-Authenticate") != `Basic realm="mitmproxy"` {
				t.Fatalf("CONNECT without credentials: %d %v", resp.StatusCode, resp.Header)
			}
			c.Close()

			// CONNECT with credentials: requests in the tunnel need none.
			c = md.Dial(t)
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			br = bufio.NewReader(c)
			_, _ = io.WriteString(c, "CONNECT "+host+" HTTP/1.1\r\nHost: "+host+"\r\nProxy-Authorization: "+basic(tc.user, tc.pass)+"\r\n\r\n")
			resp, err = http.ReadResponse(br, &http.Request{Method: "CONNECT"})
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 {
				t.Fatalf("CONNECT with credentials: %d", resp.StatusCode)
			}
			for i := 0; i < 2; i++ {
				_, _ = io.WriteString(c, "GET /in-tunnel HTTP/1.1\r\nHost: "+host+"\r\n\r\n")
				resp, err = http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				body, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(body) != "origin; proxy-authorization=" {
					t.Fatalf("request %d in the tunnel: %d %q", i, resp.StatusCode, body)
				}
			}
			if code := md.Stop(t); code != 0 {
				t.Errorf("mitmdump exited with %d", code)
			}
		})
	}
}

// TestEndToEndBadSpec: a bad spec or a missing htpasswd file stops mitmdump
// at start-up with an error naming the option.
func TestEndToEndBadSpec(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	for _, spec := range []string{"@" + missing, "nocolon", "a:b:c"} {
		md := testutil.StartMitmdumpWith(t, testutil.Options{NoListen: true}, "--proxyauth", spec)
		if code := md.Wait(t, 30*time.Second); code == 0 {
			t.Fatalf("mitmdump accepted --proxyauth %q", spec)
		}
		if out := md.Output(); !strings.Contains(out, "proxyauth") {
			t.Errorf("--proxyauth %q: output does not name the option:\n%s", spec, out)
		}
	}
}
