package certs

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
)

// The onboarding app is what mitmproxy serves at http://mitm.it/ (its
// onboarding addon and onboardingapp): a page with the CA downloads and
// install instructions, and the downloads themselves. The functions here
// return whole responses and know nothing of HTTP servers; the proxy answers
// requests for the onboarding host with them.

// initOnboarding prepares the downloads. Like mitmproxy, which reads them
// from the confdir on each request, the files are served as they are on
// disk (a user may have put their own there); unlike mitmproxy, a missing
// file (a confdir holding only <basename>-ca.pem) is made from the CA
// instead of failing.
func (s *Store) initOnboarding() error {
	var err error
	if s.certPEM, err = readOptional(s.path("-ca-cert.pem")); err != nil {
		return err
	}
	if s.certPEM == nil {
		s.certPEM = certPEM(s.ca)
	}
	if s.certCER, err = readOptional(s.path("-ca-cert.cer")); err != nil {
		return err
	}
	if s.certCER == nil {
		s.certCER = certPEM(s.ca)
	}
	if s.certP12, err = readOptional(s.path("-ca-cert.p12")); err != nil {
		return err
	}
	if s.certP12 == nil {
		if s.certP12, err = caCertP12(s.ca, s.base); err != nil {
			return fmt.Errorf("certs: encode CA certificate as PKCS#12: %w", err)
		}
	}
	s.page = sync.OnceValue(s.renderPage)
	return nil
}

// readOptional reads a file, returning nil without error if it does not
// exist.
func readOptional(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	return b, nil
}

// OnboardingPage returns the HTML of the onboarding page: the CA's
// fingerprint, a download link for each format and install instructions for
// each platform.
func (s *Store) OnboardingPage() []byte { return s.page() }

// ServeOnboarding answers a request to the onboarding app with a status,
// headers and body. target is the request target ("/cert/pem", a query is
// ignored). It serves, as mitmproxy's onboarding app does:
//
//	/          the page of [Store.OnboardingPage]
//	/cert/pem  <basename>-ca-cert.pem, application/x-x509-ca-cert
//	/cert/p12  <basename>-ca-cert.p12, application/x-pkcs12
//	/cert/cer  <basename>-ca-cert.cer, application/x-x509-ca-cert (the PEM bytes)
//
// each file with "Content-Disposition: inline; filename=...". Other paths
// get 404, methods other than GET and HEAD get 405. For HEAD the body is nil
// and Content-Length still gives its length.
func (s *Store) ServeOnboarding(method, target string) (status int, header http.Header, body []byte) {
	path, _, _ := strings.Cut(target, "?")
	header = http.Header{}
	switch path {
	case "", "/":
		header.Set("Content-Type", "text/html; charset=utf-8")
		status, body = http.StatusOK, s.OnboardingPage()
	case "/cert/pem", "/cert/p12", "/cert/cer":
		ext := strings.TrimPrefix(path, "/cert/")
		ctype, data := "application/x-x509-ca-cert", s.certPEM
		switch ext {
		case "p12":
			ctype, data = "application/x-pkcs12", s.certP12
		case "cer":
			data = s.certCER
		}
		header.Set("Content-Type", ctype)
		header.Set("Content-Disposition", "inline; filename="+s.base+"-ca-cert."+ext)
		status, body = http.StatusOK, data
	default:
		header.Set("Content-Type", "text/plain; charset=utf-8")
		status, body = http.StatusNotFound, []byte("404 page not found\n")
	}
	switch method {
	case http.MethodGet:
	case http.MethodHead:
		header.Set("Content-Length", strconv.Itoa(len(body)))
		return status, header, nil
	default:
		header = http.Header{}
		header.Set("Allow", "GET, HEAD")
		header.Set("Content-Type", "text/plain; charset=utf-8")
		status, body = http.StatusMethodNotAllowed, []byte("405 method not allowed\n")
	}
	header.Set("Content-Length", strconv.Itoa(len(body)))
	return status, header, body
}

func (s *Store) renderPage() []byte {
	sum := sha256.Sum256(s.ca.Raw)
	var fp strings.Builder
	for i, b := range sum {
		if i > 0 {
			fp.WriteByte(':')
		}
		fmt.Fprintf(&fp, "%02X", b)
	}
	data := struct {
		Name, Subject, Fingerprint, NotAfter string
	}{
		Name:        s.base,
		Subject:     s.ca.Subject.String(),
		Fingerprint: fp.String(),
		NotAfter:    s.ca.NotAfter.UTC().Format("2006-01-02"),
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, data); err != nil {
		// The template and its data are ours; this cannot happen.
		panic(err)
	}
	return buf.Bytes()
}

var pageTemplate = template.Must(template.New("onboarding").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Name}}: install the certificate authority</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; color: #222; }
h1 { font-size: 1.6rem; }
section { border-top: 1px solid #ddd; padding: .5rem 0 1rem; }
h2 { font-size: 1.2rem; margin-bottom: .3rem; }
a.get { display: inline-block; background: #2b8a3e; color: #fff; padding: .25rem .7rem; border-radius: .25rem; text-decoration: none; margin: .1rem .3rem .1rem 0; }
details summary { cursor: pointer; color: #1864ab; margin-top: .3rem; }
code, samp { background: #f1f3f5; padding: 0 .2rem; border-radius: .2rem; }
.warn { background: #fff3bf; padding: .5rem .8rem; border-radius: .25rem; }
.fp { font-family: ui-monospace, monospace; font-size: .8rem; word-break: break-all; }
footer { border-top: 1px solid #ddd; padding-top: 1rem; color: #666; font-size: .9rem; }
</style>
</head>
<body>
<h1>Install the {{.Name}} certificate authority</h1>
<p>To intercept HTTPS, the proxy shows your browser certificates signed by its own certificate authority
(<samp>{{.Subject}}</samp>, valid until {{.NotAfter}}). Trust it on this device, and only for as long as you
need to.</p>
<p>SHA-256 fingerprint:<br><span class="fp">{{.Fingerprint}}</span></p>

<section id="windows">
<h2>Windows</h2>
<a class="get" href="/cert/p12">Get {{.Name}}-ca-cert.p12</a>
<details><summary>Instructions</summary>
<ol>
<li>Open the P12 file to start the import wizard.</li>
<li>Choose the store location (the current user, or everyone on this machine) and click <samp>Next</samp> twice.</li>
<li>Leave the password empty and click <samp>Next</samp>.</li>
<li>Choose <samp>Place all certificates in the following store</samp>, click <samp>Browse</samp> and pick
<samp>Trusted Root Certification Authorities</samp>; then <samp>OK</samp> and <samp>Next</samp>.</li>
<li>Click <samp>Finish</samp>, and <samp>Yes</samp> in the security warning.</li>
</ol>
<p>Or, from a command prompt: <code>certutil.exe -addstore root {{.Name}}-ca-cert.cer</code></p>
</details>
</section>

<section id="linux">
<h2>Linux</h2>
<a class="get" href="/cert/pem">Get {{.Name}}-ca-cert.pem</a>
<details><summary>Instructions</summary>
<p>Debian, Ubuntu:</p>
<ol>
<li><code>sudo cp {{.Name}}-ca-cert.pem /usr/local/share/ca-certificates/{{.Name}}.crt</code></li>
<li><code>sudo update-ca-certificates</code></li>
</ol>
<p>Fedora, RHEL, Arch:</p>
<ol>
<li><code>sudo trust anchor --store {{.Name}}-ca-cert.pem</code></li>
</ol>
</details>
</section>

<section id="macos">
<h2>macOS</h2>
<a class="get" href="/cert/pem">Get {{.Name}}-ca-cert.pem</a>
<details><summary>Instructions</summary>
<ol>
<li>Open the PEM file; <samp>Keychain Access</samp> imports it.</li>
<li>Find the certificate <samp>{{.Name}}</samp> and open it.</li>
<li>Under <samp>Trust</samp>, set <samp>Secure Sockets Layer (SSL)</samp> to <samp>Always Trust</samp>.</li>
<li>Close the window and confirm with your password.</li>
</ol>
<p>Or: <code>sudo security add-trusted-cert -d -p ssl -p basic -k /Library/Keychains/System.keychain {{.Name}}-ca-cert.pem</code></p>
</details>
</section>

<section id="ios">
<h2>iOS and iPadOS</h2>
<a class="get" href="/cert/pem">Get {{.Name}}-ca-cert.pem</a>
<details open><summary>Instructions (two steps, both needed)</summary>
<ol>
<li>Download the certificate with Safari; other browsers may not offer to install it.</li>
<li>Install the profile in <samp>Settings &gt; General &gt; VPN &amp; Device Management</samp>.</li>
<li><strong>Then</strong> turn on full trust for <samp>{{.Name}}</samp> in
<samp>Settings &gt; General &gt; About &gt; Certificate Trust Settings</samp>.</li>
</ol>
</details>
</section>

<section id="android">
<h2>Android</h2>
<a class="get" href="/cert/cer">Get {{.Name}}-ca-cert.cer</a>
<details><summary>Instructions</summary>
<ol>
<li>Open <samp>Settings &gt; Security &gt; Encryption &amp; credentials &gt; Install a certificate &gt; CA certificate</samp>
(the names vary between devices) and pick the downloaded CER file.</li>
<li>Name it <samp>{{.Name}}</samp>, or anything else, and confirm.</li>
</ol>
<p class="warn">Apps targeting Android 7 (API level 24) or later trust user-installed certificate authorities only if
they opt in with a network security configuration. Browsers do; most other apps do not.</p>
</details>
</section>

<section id="firefox">
<h2>Firefox</h2>
<a class="get" href="/cert/pem">Get {{.Name}}-ca-cert.pem</a>
<details><summary>Instructions</summary>
<p>Firefox may keep its own list of certificate authorities instead of the system's.</p>
<ol>
<li>Open <samp>Settings &gt; Privacy &amp; Security &gt; Certificates &gt; View Certificates</samp>.</li>
<li>In <samp>Authorities</samp>, click <samp>Import</samp> and pick the PEM file.</li>
<li>Tick <samp>Trust this CA to identify websites</samp> and click <samp>OK</samp>.</li>
</ol>
</details>
</section>

<section id="other">
<h2>Other platforms</h2>
<a class="get" href="/cert/pem">Get {{.Name}}-ca-cert.pem</a>
<a class="get" href="/cert/p12">Get {{.Name}}-ca-cert.p12</a>
<a class="get" href="/cert/cer">Get {{.Name}}-ca-cert.cer</a>
</section>

<footer>
<p>This page is served by your own proxy. Its certificate authority was generated on the proxy's first run and
is not shared with any other installation, so other people's proxies cannot intercept your traffic with it.
Anyone who gets its private key can; keep the configuration directory private.</p>
</footer>
</body>
</html>
`))
