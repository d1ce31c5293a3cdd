// Package certs is the certificate authority of TLS interception: it loads
// or creates the CA in the configuration directory, with mitmproxy's file
// names and formats (a user who trusts mitmproxy's CA in ~/.mitmproxy changes
// nothing), mints leaf certificates for intercepted hosts, serves
// user-supplied certificates (mitmproxy's --certs), and provides the
// material of the onboarding app at http://mitm.it/.
//
// A [Store] is opened once per configuration and is safe for concurrent use:
//
//	store, err := certs.Open(certs.Config{ConfDir: "~/.mitmproxy", Logger: log})
//	...
//	conf := &tls.Config{GetCertificate: store.GetCertificateFor(connectHost, upstreamCert)}
//
// The files in the configuration directory, for the default basename
// "mitmproxy", are those mitmproxy writes:
//
//	mitmproxy-ca.pem       CA private key (PKCS#1 PEM) followed by the CA certificate, mode 0600
//	mitmproxy-ca.p12       the same in PKCS#12, mode 0600
//	mitmproxy-ca-cert.pem  the CA certificate (PEM)
//	mitmproxy-ca-cert.cer  the same bytes, under the name Android wants
//	mitmproxy-ca-cert.p12  the CA certificate alone in PKCS#12 (Windows)
//	mitmproxy-dhparam.pem  DH parameters (unused by Go's TLS; see defaultDHParams)
//
// Only mitmproxy-ca.pem is read. It may hold further certificates after the
// CA's (the CA's own chain, when it is an intermediate); they are sent to
// clients after the CA certificate, as mitmproxy does.
package certs

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Validity periods, as mitmproxy's certs.py has them. The leaves' period is
// kept short because some clients reject long-lived leaves (Apple: at most
// 825 days for user-trusted CAs; mitmproxy issue #815 for the CA's ten years).
const (
	caValidity     = 10 * 365 * 24 * time.Hour
	leafValidity   = 365 * 24 * time.Hour
	backdate       = 2 * 24 * time.Hour // clock skew between proxy and clients
	crlValidity    = 7 * 24 * time.Hour
	defaultKeySize = 2048 // mitmproxy's key_size option
	minKeySize     = 1024 // crypto/rsa refuses smaller keys
	defaultBase    = "mitmproxy"
	defaultCache   = 1000
)

// Config configures [Open]. The zero value opens (or creates) mitmproxy's
// CA in ~/.mitmproxy.
type Config struct {
	// ConfDir is the directory of the CA files (mitmproxy's confdir option).
	// A leading "~" is expanded to the home directory. Empty means
	// "~/.mitmproxy". It is created with mode 0700 if missing.
	ConfDir string

	// Basename prefixes every file name ("mitmproxy" gives
	// "mitmproxy-ca.pem"), and is the common name and organization of a
	// newly generated CA, as in mitmproxy. Empty means "mitmproxy".
	Basename string

	// KeySize is the RSA key size in bits of a newly generated CA and of RSA
	// leaf keys (mitmproxy's key_size option). An existing CA keeps its key.
	// Zero means 2048.
	KeySize int

	// LeafKey selects the key type of minted leaves. The zero value,
	// [KeyAuto], uses ECDSA P-256 and falls back to RSA for clients that
	// cannot use ECDSA; see [KeyType].
	LeafKey KeyType

	// Passphrase decrypts an encrypted private key in the CA file or in
	// custom certificate files (mitmproxy's cert_passphrase option).
	// Unencrypted keys ignore it. Empty means no passphrase: encrypted keys
	// fail with [ErrPassphrase].
	Passphrase string

	// CacheSize bounds the number of minted leaves kept in memory, least
	// recently used first out. Zero means 1000. A negative value disables
	// the cache; concurrent requests for the same leaf still share one
	// signature.
	CacheSize int

	// Logger receives what the store has to say (a new CA, an expired CA, a
	// custom certificate that is a CA, ...). Nil discards.
	Logger *slog.Logger
}

// Store is a certificate authority and a cache of the leaves it minted. It
// is safe for concurrent use. The certificates it returns are shared and must
// not be modified.
type Store struct {
	dir, base  string
	keySize    int
	leafKey    KeyType
	passphrase string
	log        *slog.Logger

	ca      *x509.Certificate
	caKey   crypto.Signer
	signer  crypto.Signer // caKey; the tests wrap it to count signatures
	chain   [][]byte      // sent after each leaf: the CA, then the rest of the CA file
	caKeyID []byte        // authority key identifier of the leaves

	ecKey  *leafKey
	rsaKey func() (*leafKey, error) // generated on first use unless LeafKey is KeyRSA

	cache *lru
	group singleflight.Group

	customMu sync.RWMutex
	custom   map[string]*customCert

	certPEM, certCER, certP12 []byte // onboarding downloads
	page                      func() []byte

	crlMu   sync.Mutex
	crl     []byte
	crlTime time.Time
}

// Open loads the CA from cfg.ConfDir, generating it with all of mitmproxy's
// files first if <basename>-ca.pem does not exist, and generates the leaf
// key. Errors name the file at fault.
func Open(cfg Config) (*Store, error) {
	s := &Store{
		dir:        cfg.ConfDir,
		base:       cfg.Basename,
		keySize:    cfg.KeySize,
		leafKey:    cfg.LeafKey,
		passphrase: cfg.Passphrase,
		log:        cfg.Logger,
		custom:     map[string]*customCert{},
	}
	if s.dir == "" {
		s.dir = "~/.mitmproxy"
	}
	dir, err := expandHome(s.dir)
	if err != nil {
		return nil, err
	}
	s.dir = dir
	if s.base == "" {
		s.base = defaultBase
	}
	if s.keySize == 0 {
		s.keySize = defaultKeySize
	}
	if s.keySize < minKeySize {
		return nil, fmt.Errorf("certs: key size %d is below the minimum of %d bits", s.keySize, minKeySize)
	}
	if s.leafKey < KeyAuto || s.leafKey > KeyRSA {
		return nil, fmt.Errorf("certs: unknown leaf key type %d", int(s.leafKey))
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	size := cfg.CacheSize
	if size == 0 {
		size = defaultCache
	}
	s.cache = newLRU(size)

	caPath := s.path("-ca.pem")
	switch _, err := os.Stat(caPath); {
	case errors.Is(err, fs.ErrNotExist):
		if err := s.create(); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("certs: CA file %s: %w", caPath, err)
	}
	if err := s.load(caPath); err != nil {
		return nil, err
	}
	s.ensureDHParams()

	if err := s.initLeafKeys(); err != nil {
		return nil, err
	}
	if err := s.initOnboarding(); err != nil {
		return nil, err
	}
	return s, nil
}

// CA returns the CA certificate.
func (s *Store) CA() *x509.Certificate { return s.ca }

// Dir returns the configuration directory, with "~" expanded.
func (s *Store) Dir() string { return s.dir }

// path returns the path of the file with the given suffix ("-ca.pem").
func (s *Store) path(suffix string) string {
	return filepath.Join(s.dir, s.base+suffix)
}

func expandHome(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") && !strings.HasPrefix(p, "~"+string(filepath.Separator)) {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("certs: expand %s: %w", p, err)
	}
	return filepath.Join(home, p[1:]), nil
}

// load reads the CA key and certificate(s) from path.
func (s *Store) load(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("certs: read CA file: %w", err)
	}
	b, err := parsePEMBundle(data, s.passphrase)
	if err != nil {
		return fmt.Errorf("certs: CA file %s: %w", path, err)
	}
	if b.key == nil {
		return fmt.Errorf("certs: CA file %s: %w", path, ErrNoPrivateKey)
	}
	if len(b.certs) == 0 {
		return fmt.Errorf("certs: CA file %s: %w", path, ErrNoCertificate)
	}
	ca := b.certs[0]
	if !publicKeyEqual(b.key, ca.PublicKey) {
		return fmt.Errorf("certs: CA file %s: %w", path, ErrKeyMismatch)
	}
	if !ca.IsCA {
		s.log.Warn("certs: the CA certificate is not marked as a CA; clients will reject the certificates signed with it",
			"file", path, "subject", ca.Subject.String())
	}
	if time.Now().After(ca.NotAfter) {
		// mitmproxy warns and goes on, too.
		s.log.Warn("certs: the certificate authority has expired; delete the CA files in the confdir and restart to generate a new one",
			"file", path, "not_after", ca.NotAfter)
	}
	s.ca, s.caKey, s.signer = ca, b.key, b.key
	for _, c := range b.certs {
		s.chain = append(s.chain, c.Raw)
	}
	// Leaves name their issuer's key. Go copies the CA's subject key
	// identifier into them; for a CA without one (very old mitmproxy CAs),
	// use the RFC 5280 method 1 identifier, which is also what Windows
	// computes for such a CA when it builds chains.
	s.caKeyID = ca.SubjectKeyId
	if len(s.caKeyID) == 0 {
		if s.caKeyID, err = keyID(ca.PublicKey); err != nil {
			return fmt.Errorf("certs: CA file %s: %w", path, err)
		}
	}
	return nil
}

// create generates a CA the way mitmproxy's create_ca does and writes all of
// mitmproxy's files. The CA file itself is written last and atomically, so a
// crash part way leaves no CA file and the next start generates anew,
// instead of leaving download files that do not match the key.
func (s *Store) create() error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("certs: create confdir: %w", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, s.keySize)
	if err != nil {
		return fmt.Errorf("certs: generate CA key: %w", err)
	}
	ca, err := newCACert(key, s.base, s.base)
	if err != nil {
		return err
	}
	keyPEM, err := marshalKeyPEM(key)
	if err != nil {
		return fmt.Errorf("certs: encode CA key: %w", err)
	}
	pemCert := certPEM(ca)
	certOnly, err := caCertP12(ca, s.base)
	if err != nil {
		return fmt.Errorf("certs: encode CA certificate as PKCS#12: %w", err)
	}
	withKey, err := caKeyP12(ca, key, s.base)
	if err != nil {
		return fmt.Errorf("certs: encode CA key as PKCS#12: %w", err)
	}
	files := []struct {
		suffix string
		data   []byte
		mode   fs.FileMode
	}{
		{"-ca-cert.pem", pemCert, 0o644},
		// mitmproxy writes the very same PEM bytes under .cer for Android.
		{"-ca-cert.cer", pemCert, 0o644},
		{"-ca-cert.p12", certOnly, 0o644},
		{"-dhparam.pem", []byte(defaultDHParams), 0o644},
		{"-ca.p12", withKey, 0o600},
		{"-ca.pem", append(keyPEM, pemCert...), 0o600},
	}
	for _, f := range files {
		if err := writeFileAtomic(s.path(f.suffix), f.data, f.mode); err != nil {
			return err
		}
	}
	s.log.Info("certs: generated a new certificate authority", "dir", s.dir,
		"subject", ca.Subject.String(), "not_after", ca.NotAfter)
	return nil
}

// newCACert self-signs a CA certificate with mitmproxy's fields: subject
// CN and O, backdated two days, ten years, critical basicConstraints CA
// without a path length, critical keyUsage certSign and cRLSign,
// extendedKeyUsage serverAuth, subject key identifier.
func newCACert(key crypto.Signer, cn, org string) (*x509.Certificate, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	ski, err := keyID(key.Public())
	if err != nil {
		return nil, err
	}
	subject, err := rawName(cn, org)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		RawSubject:            subject,
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity),
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            -1,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		SubjectKeyId:          ski,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("certs: sign CA certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// rawName encodes a distinguished name the way mitmproxy's certificates have
// it: CN before O (crypto/x509 would put O first), both as UTF8String
// (crypto/x509 would pick PrintableString). Empty values are left out.
func rawName(cn, org string) ([]byte, error) {
	var rdns pkix.RDNSequence
	for _, a := range []struct {
		oid asn1.ObjectIdentifier
		v   string
	}{{oidCommonName, cn}, {oidOrganization, org}} {
		if a.v == "" {
			continue
		}
		rdns = append(rdns, pkix.RelativeDistinguishedNameSET{{
			Type:  a.oid,
			Value: asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(a.v)},
		}})
	}
	der, err := asn1.Marshal(rdns)
	if err != nil {
		return nil, fmt.Errorf("certs: encode name: %w", err)
	}
	return der, nil
}

var (
	oidCommonName   = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidOrganization = asn1.ObjectIdentifier{2, 5, 4, 10}
)

// randomSerial returns a positive random serial of up to 159 bits, as
// cryptography's random_serial_number (RFC 5280 allows 20 octets; one bit is
// left clear so the DER integer stays positive within 20 octets).
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 159)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("certs: serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// keyID is the key identifier of RFC 5280 §4.2.1.2 method 1: the SHA-1 of
// the subjectPublicKey bit string (what cryptography's
// SubjectKeyIdentifier.from_public_key computes for mitmproxy).
func keyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("key identifier: %w", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("key identifier: %w", err)
	}
	sum := sha1.Sum(spki.PublicKey.Bytes)
	return sum[:], nil
}

// caCertP12 is <basename>-ca-cert.p12: the CA certificate alone, named by
// the basename.
func caCertP12(ca *x509.Certificate, name string) ([]byte, error) {
	cb, err := certBag(ca.Raw, name, nil)
	if err != nil {
		return nil, err
	}
	return encodePKCS12([][]p12Bag{{cb}}, "")
}

// caKeyP12 is <basename>-ca.p12: the certificate and the (unencrypted) key
// in two SafeContents, tied by their localKeyID, as mitmproxy writes it.
func caKeyP12(ca *x509.Certificate, key crypto.Signer, name string) ([]byte, error) {
	id := sha1Sum(ca.Raw)
	cb, err := certBag(ca.Raw, name, id)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	kb := p12Bag{id: oidKeyBag, value: der, friendlyName: name, localKeyID: id}
	return encodePKCS12([][]p12Bag{{cb}, {kb}}, "")
}

// ensureDHParams writes the DH parameter file if it is missing, as mitmproxy
// does on every start. Nothing here reads it, so failing is only logged.
func (s *Store) ensureDHParams() {
	p := s.path("-dhparam.pem")
	if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err := writeFileAtomic(p, []byte(defaultDHParams), 0o644); err != nil {
		s.log.Debug("certs: cannot write DH parameters", "err", err)
	}
}

// writeFileAtomic writes data to a temporary file in the same directory,
// created with mode 0600 so that key material is never readable by others
// even for an instant, then sets mode and renames it into place.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("certs: write %s: %w", path, err)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(mode); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
