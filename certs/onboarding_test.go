package certs

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

func TestServeOnboarding(t *testing.T) {
	s := fixtureStore(t, Config{})
	pemFile := mustRead(t, filepath.Join(fixtureDir, "mitmproxy-ca-cert.pem"))
	p12File := mustRead(t, filepath.Join(fixtureDir, "mitmproxy-ca-cert.p12"))
	for _, tc := range []struct {
		method, target string
		status         int
		ctype, disp    string
		body           []byte
	}{
		{"GET", "/cert/pem", 200, "application/x-x509-ca-cert", "inline; filename=mitmproxy-ca-cert.pem", pemFile},
		{"GET", "/cert/cer", 200, "application/x-x509-ca-cert", "inline; filename=mitmproxy-ca-cert.cer", pemFile},
		{"GET", "/cert/p12", 200, "application/x-pkcs12", "inline; filename=mitmproxy-ca-cert.p12", p12File},
		{"GET", "/cert/pem?x=1", 200, "application/x-x509-ca-cert", "inline; filename=mitmproxy-ca-cert.pem", pemFile},
		{"HEAD", "/cert/pem", 200, "application/x-x509-ca-cert", "inline; filename=mitmproxy-ca-cert.pem", nil},
		{"GET", "/", 200, "text/html; charset=utf-8", "", s.OnboardingPage()},
		{"GET", "", 200, "text/html; charset=utf-8", "", s.OnboardingPage()},
		{"GET", "/cert/der", 404, "text/plain; charset=utf-8", "", nil},
		{"GET", "/static/x.css", 404, "text/plain; charset=utf-8", "", nil},
		{"POST", "/cert/pem", 405, "text/plain; charset=utf-8", "", nil},
	} {
		status, h, body := s.ServeOnboarding(tc.method, tc.target)
		name := tc.method + " " + tc.target
		if status != tc.status {
			t.Errorf("%s: status %d, want %d", name, status, tc.status)
		}
		if got := h.Get("Content-Type"); got != tc.ctype {
			t.Errorf("%s: Content-Type %q, want %q", name, got, tc.ctype)
		}
		if got := h.Get("Content-Disposition"); got != tc.disp {
			t.Errorf("%s: Content-Disposition %q, want %q", name, got, tc.disp)
		}
		if tc.body != nil && !bytes.Equal(body, tc.body) {
			t.Errorf("%s: unexpected body", name)
		}
		if tc.method == "HEAD" {
			if body != nil {
				t.Errorf("%s: body for HEAD", name)
			}
			if h.Get("Content-Length") != strconv.Itoa(len(pemFile)) {
				t.Errorf("%s: Content-Length %q", name, h.Get("Content-Length"))
			}
		} else if h.Get("Content-Length") != strconv.Itoa(len(body)) {
			t.Errorf("%s: Content-Length %q for %d bytes", name, h.Get("Content-Length"), len(body))
		}
		if status == http.StatusMethodNotAllowed && h.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: Allow %q", name, h.Get("Allow"))
		}
	}
}

func TestOnboardingPage(t *testing.T) {
	s := fixtureStore(t, Config{})
	page := string(s.OnboardingPage())
	for _, want := range []string{
		`href="/cert/pem"`, `href="/cert/p12"`, `href="/cert/cer"`,
		"mitmproxy-ca-cert.pem", "Windows", "Linux", "macOS", "iOS", "Android", "Firefox",
		"certutil.exe -addstore root", "update-ca-certificates", "Certificate Trust Settings",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The fingerprint lets users compare what they install.
	if !strings.Contains(page, s.CA().Subject.CommonName) || !strings.Contains(page, ":") {
		t.Error("page lacks the CA's name")
	}
}

// TestOnboardingWithoutDownloadFiles: a confdir holding only the CA file
// (a user's own CA) still serves all three downloads, made from the CA.
func TestOnboardingWithoutDownloadFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "mitmproxy-ca.pem"), mustRead(t, filepath.Join(fixtureDir, "mitmproxy-ca.pem")), 0o600)
	s, err := Open(Config{ConfDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	want := mustRead(t, filepath.Join(fixtureDir, "mitmproxy-ca-cert.pem"))
	for _, ext := range []string{"pem", "cer"} {
		if _, _, body := s.ServeOnboarding("GET", "/cert/"+ext); !bytes.Equal(body, want) {
			t.Errorf("/cert/%s is not the CA in PEM", ext)
		}
	}
	_, _, body := s.ServeOnboarding("GET", "/cert/p12")
	shape := p12ShapeOf(t, body)
	if len(shape.certs) != 1 || !bytes.Equal(shape.certs[0], s.CA().Raw) {
		t.Error("/cert/p12 does not hold the CA")
	}
	// And it is not a key store: go-pkcs12 finds no key in it.
	if _, _, _, err := pkcs12.DecodeChain(body, ""); err == nil {
		t.Error("the certificate-only PKCS#12 holds a key")
	}
}
