package certs

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

var allFiles = []struct {
	name string
	mode os.FileMode
}{
	{"mitmproxy-ca.pem", 0o600},
	{"mitmproxy-ca.p12", 0o600},
	{"mitmproxy-ca-cert.pem", 0o644},
	{"mitmproxy-ca-cert.cer", 0o644},
	{"mitmproxy-ca-cert.p12", 0o644},
	{"mitmproxy-dhparam.pem", 0o644},
}

// generatedStore opens a zero Config with HOME pointing at a temporary
// directory, so the CA is generated in $HOME/.mitmproxy, and returns it.
func generatedStore(t *testing.T) (*Store, string) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	s, err := Open(Config{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return s, filepath.Join(home, ".mitmproxy")
}

func TestGenerateWritesMitmproxyFiles(t *testing.T) {
	s, dir := generatedStore(t)
	if s.Dir() != dir {
		t.Errorf("Dir() = %q, want %q", s.Dir(), dir)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("confdir mode = %v, want 0700", got)
	}
	for _, f := range allFiles {
		fi, err := os.Stat(filepath.Join(dir, f.name))
		if err != nil {
			t.Errorf("%s: %v", f.name, err)
			continue
		}
		if got := fi.Mode().Perm(); got != f.mode {
			t.Errorf("%s: mode %v, want %v", f.name, got, f.mode)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(allFiles) {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("confdir holds %v, want exactly the %d mitmproxy files (no temporary files)", names, len(allFiles))
	}

	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// mitmproxy-ca.pem: the PKCS#1 key, then the certificate.
	caPEM := read("mitmproxy-ca.pem")
	kb, rest := pem.Decode(caPEM)
	cb, rest := pem.Decode(rest)
	if kb == nil || kb.Type != "RSA PRIVATE KEY" || cb == nil || cb.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("mitmproxy-ca.pem is not an RSA PRIVATE KEY block followed by a CERTIFICATE block")
	}
	key, err := x509.ParsePKCS1PrivateKey(kb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if key.N.BitLen() != 2048 {
		t.Errorf("CA key is %d bits, want 2048", key.N.BitLen())
	}
	if !bytes.Equal(cb.Bytes, s.CA().Raw) {
		t.Error("the certificate in mitmproxy-ca.pem is not the store's CA")
	}
	certPEM := read("mitmproxy-ca-cert.pem")
	if !bytes.Equal(certPEM, pem.EncodeToMemory(cb)) {
		t.Error("mitmproxy-ca-cert.pem is not the CA certificate in PEM")
	}
	if !bytes.Equal(read("mitmproxy-ca-cert.cer"), certPEM) {
		t.Error("mitmproxy-ca-cert.cer differs from mitmproxy-ca-cert.pem; mitmproxy writes the same PEM bytes")
	}
	if !bytes.Equal(read("mitmproxy-dhparam.pem"), []byte(defaultDHParams)) {
		t.Error("mitmproxy-dhparam.pem has unexpected content")
	}

	// The PKCS#12 files, read by go-pkcs12 (the key file) and by the
	// structural reader (both).
	p12Key, p12Cert, _, err := pkcs12.DecodeChain(read("mitmproxy-ca.p12"), "")
	if err != nil {
		t.Fatalf("go-pkcs12 cannot read mitmproxy-ca.p12: %v", err)
	}
	if !p12Cert.Equal(s.CA()) || !key.Equal(p12Key) {
		t.Error("mitmproxy-ca.p12 does not hold the CA key and certificate")
	}
	shape := p12ShapeOf(t, read("mitmproxy-ca-cert.p12"))
	if len(shape.certs) != 1 || !bytes.Equal(shape.certs[0], s.CA().Raw) {
		t.Error("mitmproxy-ca-cert.p12 does not hold exactly the CA certificate")
	}
}

func TestGeneratedCAHasMitmproxyFields(t *testing.T) {
	s, _ := generatedStore(t)
	ca := s.CA()
	if ca.Subject.CommonName != "mitmproxy" || !slices.Equal(ca.Subject.Organization, []string{"mitmproxy"}) {
		t.Errorf("subject = %v, want CN=mitmproxy,O=mitmproxy", ca.Subject)
	}
	if ca.Issuer.String() != ca.Subject.String() {
		t.Errorf("issuer %v != subject %v", ca.Issuer, ca.Subject)
	}
	if !ca.BasicConstraintsValid || !ca.IsCA || ca.MaxPathLen != -1 {
		t.Errorf("basicConstraints: valid=%v CA=%v pathlen=%d, want CA without path length", ca.BasicConstraintsValid, ca.IsCA, ca.MaxPathLen)
	}
	if ca.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("keyUsage = %b, want certSign|cRLSign", ca.KeyUsage)
	}
	if !slices.Equal(ca.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("extKeyUsage = %v, want serverAuth", ca.ExtKeyUsage)
	}
	wantSKI, _ := keyID(ca.PublicKey)
	if !bytes.Equal(ca.SubjectKeyId, wantSKI) {
		t.Errorf("subjectKeyId = %x, want %x", ca.SubjectKeyId, wantSKI)
	}
	crit := map[string]bool{}
	for _, e := range ca.Extensions {
		crit[e.Id.String()] = e.Critical
	}
	if !crit["2.5.29.19"] || !crit["2.5.29.15"] {
		t.Error("basicConstraints and keyUsage must be critical")
	}
	if ca.SignatureAlgorithm != x509.SHA256WithRSA {
		t.Errorf("signature algorithm %v, want SHA256-RSA", ca.SignatureAlgorithm)
	}
	now := time.Now()
	if d := now.Sub(ca.NotBefore); d < 47*time.Hour || d > 49*time.Hour {
		t.Errorf("notBefore is %v before now, want two days", d)
	}
	if d := ca.NotAfter.Sub(now); d < caValidity-time.Hour || d > caValidity+time.Hour {
		t.Errorf("notAfter is %v after now, want ten years", d)
	}
	if ca.SerialNumber.Sign() <= 0 || ca.SerialNumber.BitLen() < 64 || ca.SerialNumber.BitLen() > 159 {
		t.Errorf("serial %v is not a positive random of up to 159 bits", ca.SerialNumber)
	}
}

func TestReopenGivesSameCA(t *testing.T) {
	s1, dir := generatedStore(t)
	before := map[string][]byte{}
	for _, f := range allFiles {
		before[f.name], _ = os.ReadFile(filepath.Join(dir, f.name))
	}
	s2, err := Open(Config{ConfDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !s1.CA().Equal(s2.CA()) {
		t.Error("reopening gave another CA")
	}
	if !publicKeyEqual(s2.caKey, s1.caKey.Public()) {
		t.Error("reopening gave another CA key")
	}
	for _, f := range allFiles {
		after, _ := os.ReadFile(filepath.Join(dir, f.name))
		if !bytes.Equal(before[f.name], after) {
			t.Errorf("reopening rewrote %s", f.name)
		}
	}
	// A leaf of the second store verifies against the first one's CA.
	leaf, err := s2.Leaf(LeafSpec{Names: []string{"example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: caPool(s1)}); err != nil {
		t.Error(err)
	}
}

// TestMitmproxyFixture proves that a CA written by mitmproxy is used as it
// is: loaded, not rewritten, and signing leaves that verify.
func TestMitmproxyFixture(t *testing.T) {
	dir := copyFixture(t)
	before, _ := os.ReadFile(filepath.Join(dir, "mitmproxy-ca.pem"))
	s, err := Open(Config{ConfDir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(fixtureDir, "mitmproxy-ca-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(certPEM(s.CA()), want) {
		t.Error("the loaded CA is not the fixture's")
	}
	after, _ := os.ReadFile(filepath.Join(dir, "mitmproxy-ca.pem"))
	if !bytes.Equal(before, after) {
		t.Error("opening rewrote mitmproxy's CA file")
	}
	for _, name := range []string{"www.example.com", "127.0.0.1", "::1"} {
		c, err := s.Leaf(LeafSpec{Names: []string{name}})
		if err != nil {
			t.Fatal(err)
		}
		verifyLeaf(t, s, c, name)
	}
	// The onboarding downloads are mitmproxy's files, byte for byte.
	for ext, file := range map[string]string{"pem": "mitmproxy-ca-cert.pem", "cer": "mitmproxy-ca-cert.cer", "p12": "mitmproxy-ca-cert.p12"} {
		_, _, body := s.ServeOnboarding("GET", "/cert/"+ext)
		want, _ := os.ReadFile(filepath.Join(fixtureDir, file))
		if !bytes.Equal(body, want) {
			t.Errorf("/cert/%s does not serve %s", ext, file)
		}
	}
}

// TestPKCS12ShapeMatchesMitmproxy compares the structure of the PKCS#12
// files written here with those mitmproxy wrote: bag types, attributes,
// SafeContents, MAC algorithm, iterations and salt length.
func TestPKCS12ShapeMatchesMitmproxy(t *testing.T) {
	s := fixtureStore(t, Config{})
	fixtureCertOnly, _ := os.ReadFile(filepath.Join(fixtureDir, "mitmproxy-ca-cert.p12"))
	fixtureWithKey, _ := os.ReadFile(filepath.Join(fixtureDir, "mitmproxy-ca.p12"))

	ours, err := caCertP12(s.CA(), "mitmproxy")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p12ShapeOf(t, ours), p12ShapeOf(t, fixtureCertOnly); got.String() != want.String() {
		t.Errorf("certificate-only PKCS#12:\n got %s\nwant %s", got, want)
	}
	// Not byte-equal, though: the MAC salt is random.
	if bytes.Equal(ours, fixtureCertOnly) {
		t.Error("salt is not random")
	}

	ours, err = caKeyP12(s.CA(), s.caKey, "mitmproxy")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p12ShapeOf(t, ours), p12ShapeOf(t, fixtureWithKey); got.String() != want.String() {
		t.Errorf("key PKCS#12:\n got %s\nwant %s", got, want)
	}
	// go-pkcs12 reads mitmproxy's file, and the key in it is the PEM's.
	k, c, _, err := pkcs12.DecodeChain(fixtureWithKey, "")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Equal(s.CA()) || !publicKeyEqual(k.(crypto.Signer), s.CA().PublicKey) {
		t.Error("mitmproxy's PKCS#12 holds another CA")
	}
}

func TestOpenSSLReadsGeneratedFiles(t *testing.T) {
	openssl := needOpenSSL(t)
	s, dir := generatedStore(t)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(openssl, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	f := func(name string) string { return filepath.Join(dir, name) }

	text := run("x509", "-in", f("mitmproxy-ca-cert.pem"), "-noout", "-text")
	for _, want := range []string{
		"Subject: CN = mitmproxy, O = mitmproxy",
		"Issuer: CN = mitmproxy, O = mitmproxy",
		"CA:TRUE",
		"X509v3 Key Usage: critical",
		"Certificate Sign, CRL Sign",
		"TLS Web Server Authentication",
		"X509v3 Subject Key Identifier",
		"sha256WithRSAEncryption",
		"Public-Key: (2048 bit)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("openssl x509 -text lacks %q", want)
		}
	}
	run("x509", "-in", f("mitmproxy-ca-cert.cer"), "-noout")
	run("x509", "-in", f("mitmproxy-ca.pem"), "-noout")
	if out := run("rsa", "-in", f("mitmproxy-ca.pem"), "-check", "-noout"); !strings.Contains(out, "RSA key ok") {
		t.Errorf("openssl rsa -check: %s", out)
	}
	run("dhparam", "-in", f("mitmproxy-dhparam.pem"), "-check", "-noout")

	out := run("pkcs12", "-in", f("mitmproxy-ca-cert.p12"), "-passin", "pass:", "-info", "-nokeys")
	for _, want := range []string{"MAC: sha256, Iteration 2048", "friendlyName: mitmproxy", "BEGIN CERTIFICATE"} {
		if !strings.Contains(out, want) {
			t.Errorf("openssl pkcs12 (certificate only) lacks %q:\n%s", want, out)
		}
	}
	out = run("pkcs12", "-in", f("mitmproxy-ca.p12"), "-passin", "pass:", "-info", "-nodes")
	for _, want := range []string{"MAC: sha256, Iteration 2048", "Key bag", "BEGIN PRIVATE KEY", "BEGIN CERTIFICATE"} {
		if !strings.Contains(out, want) {
			t.Errorf("openssl pkcs12 (with key) lacks %q:\n%s", want, out)
		}
	}

	// openssl verifies a minted leaf, by name and by IP.
	for _, tc := range []struct{ name, flag string }{{"example.com", "-verify_hostname"}, {"192.0.2.7", "-verify_ip"}} {
		leaf, err := s.Leaf(LeafSpec{Names: []string{tc.name}})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "leaf.pem")
		os.WriteFile(p, certPEM(leaf.Leaf), 0o600)
		if out := run("verify", "-CAfile", f("mitmproxy-ca-cert.pem"), tc.flag, tc.name, p); !strings.Contains(out, ": OK") {
			t.Errorf("openssl verify %s: %s", tc.name, out)
		}
	}
}

// TestMitmproxyReadsGeneratedCA runs Debian's mitmdump on a confdir written
// here: it must start with our CA and leave it alone.
func TestMitmproxyReadsGeneratedCA(t *testing.T) {
	mitmdump, err := exec.LookPath("mitmdump")
	if err != nil {
		t.Skip("mitmdump not installed (apt-get install mitmproxy)")
	}
	if testing.Short() {
		t.Skip("starts mitmdump")
	}
	_, dir := generatedStore(t)
	before, _ := os.ReadFile(filepath.Join(dir, "mitmproxy-ca.pem"))
	// Generous: mitmdump (Python) starts in about a second, but much slower
	// on a loaded machine. The test ends as soon as it reports listening.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, mitmdump, "-p", "0", "--set", "confdir="+dir)
	// Python buffers a piped stdout; the line we wait for would come at exit.
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "PYTHONUNBUFFERED=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var out []string
	started := false
	for l := range lines {
		out = append(out, l)
		if strings.Contains(l, "listening") {
			started = true
			break
		}
	}
	cmd.Process.Kill()
	for range lines {
	}
	cmd.Wait()
	if !started {
		t.Fatalf("mitmdump did not start on our confdir:\n%s", strings.Join(out, "\n"))
	}
	after, _ := os.ReadFile(filepath.Join(dir, "mitmproxy-ca.pem"))
	if !bytes.Equal(before, after) {
		t.Error("mitmdump replaced our CA")
	}
}

// TestCAKeyFormats loads CAs whose keys come in every supported format.
func TestCAKeyFormats(t *testing.T) {
	// The fixture's RSA key, to avoid generating one.
	fix, err := parsePEMBundle(mustRead(t, filepath.Join(fixtureDir, "mitmproxy-ca.pem")), "")
	if err != nil {
		t.Fatal(err)
	}
	rsaKey := fix.key.(*rsa.PrivateKey)
	ec256 := newECKey(t)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)

	pkcs8 := func(k crypto.Signer) *pem.Block {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	sec1 := func(k *ecdsa.PrivateKey) *pem.Block {
		der, _ := x509.MarshalECPrivateKey(k)
		return &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	}
	legacy := func(b *pem.Block) *pem.Block {
		e, err := x509.EncryptPEMBlock(rand.Reader, b.Type, b.Bytes, []byte("secret"), x509.PEMCipherAES256)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	for _, tc := range []struct {
		name       string
		key        crypto.Signer
		block      *pem.Block
		passphrase string
	}{
		{"RSA PKCS#1", rsaKey, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}, ""},
		{"RSA PKCS#8", rsaKey, pkcs8(rsaKey), ""},
		{"RSA PKCS#8 mislabelled", rsaKey, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: pkcs8(rsaKey).Bytes}, ""},
		{"EC P-256 SEC 1", ec256, sec1(ec256), ""},
		{"EC P-256 PKCS#8", ec256, pkcs8(ec256), ""},
		{"EC P-384 SEC 1", ec384, sec1(ec384), ""},
		{"Ed25519 PKCS#8", edKey, pkcs8(edKey), ""},
		{"RSA PKCS#1 legacy-encrypted", rsaKey, legacy(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}), "secret"},
		{"EC SEC 1 legacy-encrypted", ec256, legacy(sec1(ec256)), "secret"},
		{"unencrypted key ignores the passphrase", ec256, sec1(ec256), "unused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca := testCert(t, caTemplate("format test CA"), tc.key, nil, nil)
			dir := t.TempDir()
			data := append(pem.EncodeToMemory(tc.block), certPEM(ca)...)
			if err := os.WriteFile(filepath.Join(dir, "mitmproxy-ca.pem"), data, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(Config{ConfDir: dir, Passphrase: tc.passphrase})
			if err != nil {
				t.Fatal(err)
			}
			if !s.CA().Equal(ca) {
				t.Fatal("wrong CA loaded")
			}
			leaf, err := s.Leaf(LeafSpec{Names: []string{"example.org"}})
			if err != nil {
				t.Fatal(err)
			}
			verifyLeaf(t, s, leaf, "example.org")
			// A confdir holding only the CA file still onboards.
			_, _, body := s.ServeOnboarding("GET", "/cert/pem")
			if !bytes.Equal(body, certPEM(ca)) {
				t.Error("/cert/pem does not serve the CA")
			}
			if _, err := os.Stat(filepath.Join(dir, "mitmproxy-dhparam.pem")); err != nil {
				t.Error("the missing DH parameter file was not written, as mitmproxy does")
			}
		})
	}
}

func TestEncryptedPKCS8CA(t *testing.T) {
	// testdata/encrypted-pkcs8-ca.pem: an EC test CA made with
	//   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	//     -passout pass:mitmgo-test -subj "/CN=mitmgo encrypted test CA/O=mitmgo" ...
	// whose key OpenSSL 3 wrote as ENCRYPTED PRIVATE KEY (PBES2 with 3DES);
	// see testdata/README.md.
	data := mustRead(t, "testdata/encrypted-pkcs8-ca.pem")
	for _, tc := range []struct {
		passphrase string
		wantErr    error
	}{
		{"mitmgo-test", nil},
		{"", ErrPassphrase},
		{"wrong", ErrPassphrase},
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "mitmproxy-ca.pem"), data, 0o600)
		s, err := Open(Config{ConfDir: dir, Passphrase: tc.passphrase})
		if !errors.Is(err, tc.wantErr) {
			t.Fatalf("passphrase %q: err = %v, want %v", tc.passphrase, err, tc.wantErr)
		}
		if err != nil {
			if !strings.Contains(err.Error(), filepath.Join(dir, "mitmproxy-ca.pem")) {
				t.Errorf("error %q does not name the file", err)
			}
			continue
		}
		leaf, err := s.Leaf(LeafSpec{Names: []string{"example.net"}})
		if err != nil {
			t.Fatal(err)
		}
		verifyLeaf(t, s, leaf, "example.net")
	}
}

// TestOpenSSLEncryptedKeys encrypts the fixture's RSA key with openssl in
// the formats users produce and loads each with the passphrase.
func TestOpenSSLEncryptedKeys(t *testing.T) {
	openssl := needOpenSSL(t)
	src := filepath.Join(fixtureDir, "mitmproxy-ca.pem")
	cert := mustRead(t, filepath.Join(fixtureDir, "mitmproxy-ca-cert.pem"))
	for _, args := range [][]string{
		{"pkcs8", "-topk8", "-v2", "aes-256-cbc"},
		{"pkcs8", "-topk8", "-v1", "PBE-SHA1-3DES"},
		{"rsa", "-aes128"},
		{"rsa", "-des3", "-traditional"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			dir := t.TempDir()
			full := append(slices.Clone(args), "-in", src, "-passout", "pass:pw")
			key, err := exec.Command(openssl, full...).Output()
			if err != nil {
				t.Skipf("openssl %v: %v", full, err)
			}
			os.WriteFile(filepath.Join(dir, "mitmproxy-ca.pem"), append(key, cert...), 0o600)
			s, err := Open(Config{ConfDir: dir, Passphrase: "pw"})
			if err != nil {
				t.Fatalf("%s\n%v", key[:40], err)
			}
			if !bytes.Equal(certPEM(s.CA()), cert) {
				t.Error("wrong CA")
			}
		})
	}
}

func TestCorruptCAFiles(t *testing.T) {
	fix := mustRead(t, filepath.Join(fixtureDir, "mitmproxy-ca.pem"))
	keyBlock, rest := pem.Decode(fix)
	certBlock, _ := pem.Decode(rest)
	keyPEM, certOnly := pem.EncodeToMemory(keyBlock), pem.EncodeToMemory(certBlock)
	other := testCert(t, caTemplate("another CA"), newECKey(t), nil, nil)
	badDER := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")})
	badKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte("not a key")})

	for _, tc := range []struct {
		name    string
		data    []byte
		dir     bool // make the CA path a directory: unreadable
		wantErr error
		wantMsg string
	}{
		{name: "empty", data: nil, wantMsg: "no PEM data"},
		{name: "garbage", data: []byte("this is not PEM\n"), wantMsg: "no PEM data"},
		{name: "truncated in the key", data: fix[:len(fix)/3], wantMsg: "no PEM data"},
		{name: "truncated in the certificate", data: fix[:len(fix)-100], wantErr: ErrNoCertificate},
		{name: "certificate only", data: certOnly, wantErr: ErrNoPrivateKey},
		{name: "key only", data: keyPEM, wantErr: ErrNoCertificate},
		{name: "key of another certificate", data: append(slices.Clone(keyPEM), certPEM(other)...), wantErr: ErrKeyMismatch},
		{name: "corrupt certificate", data: append(slices.Clone(keyPEM), badDER...), wantMsg: "certificate 1"},
		{name: "corrupt key", data: append(slices.Clone(badKey), certOnly...), wantMsg: "parse RSA PRIVATE KEY"},
		{name: "unreadable", dir: true, wantMsg: "read CA file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "mitmproxy-ca.pem")
			if tc.dir {
				os.Mkdir(path, 0o700)
			} else {
				os.WriteFile(path, tc.data, 0o600)
			}
			_, err := Open(Config{ConfDir: dir})
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %q is not %v", err, tc.wantErr)
			}
			if tc.wantMsg != "" && !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not say %q", err, tc.wantMsg)
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	for _, cfg := range []Config{
		{KeySize: 512},
		{LeafKey: KeyType(42)},
	} {
		cfg.ConfDir = t.TempDir()
		if _, err := Open(cfg); err == nil {
			t.Errorf("Open(%+v) succeeded", cfg)
		}
	}
}

func TestExpiredCAStillLoads(t *testing.T) {
	// mitmproxy warns about an expired CA and goes on.
	key := newECKey(t)
	tmpl := caTemplate("expired")
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	ca := testCert(t, tmpl, key, nil, nil)
	keyPEM, _ := marshalKeyPEM(key)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "mitmproxy-ca.pem"), append(keyPEM, certPEM(ca)...), 0o600)
	var logs bytes.Buffer
	if _, err := Open(Config{ConfDir: dir, Logger: slogTo(&logs)}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "expired") {
		t.Errorf("no warning about the expired CA in %q", logs.String())
	}
}

func TestCRL(t *testing.T) {
	s := fixtureStore(t, Config{})
	der, err := s.CRL()
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(s.CA()); err != nil {
		t.Error(err)
	}
	if len(crl.RevokedCertificateEntries) != 0 || !time.Now().Before(crl.NextUpdate) {
		t.Error("want an empty, current CRL")
	}
	again, _ := s.CRL()
	if !bytes.Equal(der, again) {
		t.Error("CRL re-signed on every call")
	}
	leaf, err := s.Leaf(LeafSpec{Names: []string{"a.example"}, CRLURL: "http://a.example/mitmproxy.crl"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(leaf.Leaf.CRLDistributionPoints, []string{"http://a.example/mitmproxy.crl"}) {
		t.Errorf("CRL distribution points = %v", leaf.Leaf.CRLDistributionPoints)
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
