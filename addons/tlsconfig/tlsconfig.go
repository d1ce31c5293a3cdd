// Package tlsconfig is mitmproxy's tlsconfig addon: it owns the certificate
// authority in the confdir and answers the proxy's tls_start_client and
// tls_start_server hooks with the TLS configurations for both sides of an
// intercepted connection. It also applies ignore_hosts and allow_hosts in
// tls_clienthello, as mitmproxy's next_layer does.
package tlsconfig

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/certs"
	"github.com/mitmgo/mitmgo/internal/hostmatch"
)

// TLSConfig is the addon. The zero value is not usable; use New.
type TLSConfig struct {
	ctx  *addon.Context
	opts options

	mu     sync.RWMutex
	state  *state
	store  *certs.Store
	storeK string // the options the store was opened with

	// sessions keeps TLS sessions with upstream servers, so that the next
	// connection to a server resumes instead of repeating the full
	// handshake (its certificate, signature and our verification of
	// both), as browsers do. It outlives option changes safely: crypto/tls
	// resumes only sessions that still verify under the connection's own
	// settings (an unverified session is never resumed with verification
	// on; the chain must still lead to one of the current roots).
	sessions tls.ClientSessionCache
	// tickets are the keys of the session tickets handed to clients, one
	// set for all connections so that a client's next connection can
	// resume (with a fresh tls.Config per connection and no keys given,
	// crypto/tls would make new keys for each, and no ticket would ever
	// be accepted again).
	tickets ticketKeys
	// upstreamCerts are the servers' certificates parsed for
	// upstream_cert.
	upstreamCerts parsedCerts
}

// options are the handles on the options the addon reads: its own,
// declared in Load, and two declared elsewhere (http2 by the proxy core,
// confdir by the front door), looked up in Configure.
type options struct {
	certs, ignoreHosts, allowHosts           addon.Opt[[]string]
	certPassphrase, clientCerts              addon.Opt[*string]
	trustedCA, trustedConfdir                addon.Opt[*string]
	insecure, upstreamCert, addUpstreamCerts addon.Opt[bool]
	requestClientCert                        addon.Opt[bool]
	keySize                                  addon.Opt[int]
	leafKeyType                              addon.Opt[string]
	client, server                           sideOpts
	// http2 and confdir are written in Configure (t.mu); an option that
	// is not declared (yet) is the zero handle, which reads as false or "".
	http2   addon.Opt[bool]
	confdir addon.Opt[string]
}

// sideOpts are the options of one side, client or server.
type sideOpts struct {
	versionMin, versionMax addon.Opt[string]
	ecdhCurve, ciphers     addon.Opt[*string]
}

// optString is an optional string's value, "" when unset.
func optString(o addon.Opt[*string]) string {
	if p := o.Get(); p != nil {
		return *p
	}
	return ""
}

// upstreamSessions is how many upstream servers' sessions are kept.
const upstreamSessions = 1024

// state is the configuration derived from the options.
type state struct {
	insecure     bool
	upstreamCert bool
	roots        *x509.CertPool // nil: the system roots
	clientCerts  string         // file or directory
	ignore       hostmatch.List
	allow        hostmatch.List
	clientMin    uint16
	clientMax    uint16
	serverMin    uint16
	serverMax    uint16
	client       sideState
	server       sideState
	// requestClientCert asks clients for a certificate (any, or none).
	requestClientCert bool
	// addUpstreamCerts appends the server's certificates to the chain
	// served to the client (add_upstream_certs_to_client_chain).
	addUpstreamCerts bool
	// http2 lets h2 be negotiated on either side (http2).
	http2 bool
}

// sideState is what ciphers_<side> and tls_ecdh_curve_<side> configure.
type sideState struct {
	// ciphers are for tls.Config.CipherSuites; nil: crypto/tls's defaults.
	ciphers []uint16
	// cipherList is the option as mitmproxy records it in the flow's
	// connection (cipher_list): split at the colons.
	cipherList []string
	// curves are for tls.Config.CurvePreferences; nil: the defaults.
	curves []tls.CurveID
}

// New returns the addon.
func New() *TLSConfig {
	return &TLSConfig{sessions: tls.NewLRUClientSessionCache(upstreamSessions)}
}

// Name is the addon's name.
func (t *TLSConfig) Name() string { return "tlsconfig" }

var tlsVersions = []string{"UNBOUNDED", "SSL3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3"}

// Load declares the TLS options with mitmproxy's names and defaults.
func (t *TLSConfig) Load(l *addon.Loader) {
	t.ctx = l.Context()
	o := &t.opts
	o.certs = addon.Declare(l, "certs", []string{}, "SSL certificates of the form \"[domain=]path\". The domain may include a wildcard, and is equal to \"*\" if not specified. The file at path is a certificate in PEM format. If a private key is included in the PEM, it is used, else the default key in the conf dir is used. The PEM file should contain the full certificate chain, with the leaf certificate as the first entry.")
	o.certPassphrase = addon.Declare[*string](l, "cert_passphrase", nil, "Passphrase for decrypting the private key provided in the --cert option. Note that passing cert_passphrase on the command line makes your passphrase visible in your system's process list. Specify it in config.yaml to avoid this.")
	o.clientCerts = addon.Declare[*string](l, "client_certs", nil, "Client certificate file or directory.")
	o.insecure = addon.Declare(l, "ssl_insecure", false, "Do not verify upstream server SSL/TLS certificates. If this option is enabled, certificate verification is disabled and mitmproxy will ignore any certificate errors.")
	o.trustedCA = addon.Declare[*string](l, "ssl_verify_upstream_trusted_ca", nil, "Path to a PEM formatted trusted CA certificate.")
	o.trustedConfdir = addon.Declare[*string](l, "ssl_verify_upstream_trusted_confdir", nil, "Path to a directory of trusted CA certificates for upstream server verification prepared using the c_rehash tool.")
	o.upstreamCert = addon.Declare(l, "upstream_cert", true, "Connect to upstream server to look up certificate details.")
	o.addUpstreamCerts = addon.Declare(l, "add_upstream_certs_to_client_chain", false, "Add all certificates of the upstream server to the certificate chain that will be served to the proxy client, as extras.")
	o.keySize = addon.Declare(l, "key_size", 2048, "TLS key size for certificates and CA.")
	o.leafKeyType = addon.Declare(l, "leaf_key_type", "auto", "Key type of the leaf certificates mitmgo presents to clients: auto (ECDSA P-256, RSA for clients that cannot use ECDSA), ecdsa, or rsa (key_size bits, as mitmproxy). (mitmgo)", "auto", "ecdsa", "rsa")
	o.ignoreHosts = addon.Declare(l, "ignore_hosts", []string{}, "Ignore host and forward all traffic without processing it. In transparent mode, it is recommended to use an IP address (range), not the hostname. In regular mode, only SSL traffic is ignored and the hostname should be used. The supplied value is interpreted as a regular expression and matched on the ip or the hostname.")
	o.allowHosts = addon.Declare(l, "allow_hosts", []string{}, "Opposite of --ignore-hosts.")
	for _, side := range []struct {
		name string
		opts *sideOpts
	}{{"client", &o.client}, {"server", &o.server}} {
		side.opts.versionMin = addon.Declare(l, "tls_version_"+side.name+"_min", "TLS1_2", "Set the minimum TLS version for "+side.name+" connections.", tlsVersions...)
		side.opts.versionMax = addon.Declare(l, "tls_version_"+side.name+"_max", "UNBOUNDED", "Set the maximum TLS version for "+side.name+" connections.", tlsVersions...)
		side.opts.ecdhCurve = addon.Declare[*string](l, "tls_ecdh_curve_"+side.name, nil, "Use a specific elliptic curve for ECDHE key exchange on "+side.name+" connections. OpenSSL syntax, for example \"prime256v1\" (see `openssl ecparam -list_curves`).")
	}
	o.client.ciphers = addon.Declare[*string](l, "ciphers_client", nil, "Set supported ciphers for client <-> mitmproxy connections using OpenSSL syntax.")
	o.server.ciphers = addon.Declare[*string](l, "ciphers_server", nil, "Set supported ciphers for mitmproxy <-> server connections using OpenSSL syntax.")
	o.requestClientCert = addon.Declare(l, "request_client_cert", false, "Requests a client certificate (TLS message 'CertificateRequest') to establish a mutual TLS connection between client and mitmproxy (combined with 'client_certs' option for mitmproxy and upstream).")
}

func tlsVersion(name string, isMin bool) uint16 {
	switch name {
	case "SSL3", "TLS1":
		return tls.VersionTLS10
	case "TLS1_1":
		return tls.VersionTLS11
	case "TLS1_2":
		return tls.VersionTLS12
	case "TLS1_3":
		return tls.VersionTLS13
	}
	if isMin {
		return tls.VersionTLS10
	}
	return 0
}

// Configure validates the options and (re)opens the CA when its options
// change. Nothing is applied unless everything is valid.
func (t *TLSConfig) Configure(updated map[string]bool) error {
	t.mu.Lock()
	if t.opts.http2.Name() == "" {
		t.opts.http2, _ = addon.Lookup[bool](t.ctx.Options, "http2")
	}
	if t.opts.confdir.Name() == "" {
		t.opts.confdir, _ = addon.Lookup[string](t.ctx.Options, "confdir")
	}
	http2, confdirOpt := t.opts.http2, t.opts.confdir
	t.mu.Unlock()
	o := &t.opts
	st := &state{
		insecure:     o.insecure.Get(),
		upstreamCert: o.upstreamCert.Get(),
		clientCerts:  optString(o.clientCerts),
		clientMin:    tlsVersion(o.client.versionMin.Get(), true),
		clientMax:    tlsVersion(o.client.versionMax.Get(), false),
		serverMin:    tlsVersion(o.server.versionMin.Get(), true),
		serverMax:    tlsVersion(o.server.versionMax.Get(), false),

		requestClientCert: o.requestClientCert.Get(),
		addUpstreamCerts:  o.addUpstreamCerts.Get(),
		http2:             http2.Get(),
	}
	var err error
	if st.client, err = t.sideOptions("client", &o.client, st.clientMax, updated); err != nil {
		return err
	}
	if st.server, err = t.sideOptions("server", &o.server, st.serverMax, updated); err != nil {
		return err
	}
	if st.ignore, err = hostmatch.Compile("ignore_hosts", o.ignoreHosts.Get()); err != nil {
		return err
	}
	if st.allow, err = hostmatch.Compile("allow_hosts", o.allowHosts.Get()); err != nil {
		return err
	}
	if len(st.ignore) > 0 && len(st.allow) > 0 {
		return errors.New("option ignore_hosts: cannot be used together with allow_hosts")
	}
	if st.clientCerts != "" {
		if _, err := os.Stat(expandHome(st.clientCerts)); err != nil {
			return fmt.Errorf("option client_certs: %w", err)
		}
	}
	if st.roots, err = trustedRoots(optString(o.trustedCA), optString(o.trustedConfdir)); err != nil {
		return err
	}

	confdir, ks, passphrase := confdirOpt.Get(), o.keySize.Get(), optString(o.certPassphrase)
	leafKey, customCerts := o.leafKeyType.Get(), o.certs.Get()
	keyType := map[string]certs.KeyType{"auto": certs.KeyAuto, "ecdsa": certs.KeyECDSA, "rsa": certs.KeyRSA}[leafKey]
	storeKey := strings.Join([]string{confdir, strconv.Itoa(ks), passphrase, leafKey, strings.Join(customCerts, "\x00")}, "\x01")
	t.mu.RLock()
	store, sameStore := t.store, t.storeK == storeKey
	t.mu.RUnlock()
	if !sameStore {
		if ks < 1024 {
			return fmt.Errorf("option key_size: %d bits is too small (at least 1024)", ks)
		}
		store, err = certs.Open(certs.Config{
			ConfDir: confdir, KeySize: ks, LeafKey: keyType,
			Passphrase: passphrase, Logger: t.ctx.Log,
		})
		if err != nil {
			return fmt.Errorf("option confdir: cannot load the certificate authority: %w", err)
		}
		for _, spec := range customCerts {
			if err := store.AddCustom(spec); err != nil {
				return fmt.Errorf("option certs: %w", err)
			}
		}
	}
	t.mu.Lock()
	t.state, t.store, t.storeK = st, store, storeKey
	t.mu.Unlock()
	return nil
}

// sideOptions reads ciphers_<side> and tls_ecdh_curve_<side>; maxVersion
// is tls_version_<side>_max (0: unbounded).
func (t *TLSConfig) sideOptions(side string, o *sideOpts, maxVersion uint16, updated map[string]bool) (sideState, error) {
	var ss sideState
	cipherOpt, curveOpt := o.ciphers.Name(), o.ecdhCurve.Name()
	// An empty value is as unset, as mitmproxy takes any false value.
	if v := optString(o.ciphers); v != "" {
		cl, err := parseCiphers(v)
		if err != nil {
			return ss, fmt.Errorf("option %s: %w", cipherOpt, err)
		}
		if len(cl.ids) == 0 && maxVersion != 0 && maxVersion < tls.VersionTLS13 {
			return ss, fmt.Errorf("option %s: %q names only TLS 1.3 cipher suites, but tls_version_%s_max rules out TLS 1.3", cipherOpt, v, side)
		}
		if len(cl.skipped) > 0 && o.ciphers.Changed(updated) {
			t.ctx.Log.Warn(fmt.Sprintf("option %s: left out %s: not implemented by Go's TLS", cipherOpt, strings.Join(cl.skipped, ", ")))
		}
		ss.ciphers, ss.cipherList = cl.ids, strings.Split(v, ":")
	}
	if v := optString(o.ecdhCurve); v != "" {
		curves, err := parseCurves(v)
		if err != nil {
			return ss, fmt.Errorf("option %s: %w", curveOpt, err)
		}
		ss.curves = curves
	}
	return ss, nil
}

// connCiphers returns the cipher suites for one connection. As in
// mitmproxy, a cipher list the connection already has (one an addon set,
// or a replayed flow's) wins over the option; a connection without one
// gets the option's recorded into it (its flows' cipher_list).
func connCiphers(ss sideState, conn *[]string) ([]uint16, error) {
	switch {
	case len(*conn) == 0:
		if ss.cipherList != nil {
			*conn = slices.Clone(ss.cipherList)
		}
		return ss.ciphers, nil
	case slices.Equal(*conn, ss.cipherList):
		return ss.ciphers, nil
	}
	cl, err := parseCiphers(strings.Join(*conn, ":"))
	if err != nil {
		return nil, fmt.Errorf("the connection's cipher list: %w", err)
	}
	return cl.ids, nil
}

// failVerification makes a client handshake fail with err once the
// server's certificate is in, after any check cfg already makes.
func failVerification(cfg *tls.Config, err error) {
	prev := cfg.VerifyConnection
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if prev != nil {
			if perr := prev(cs); perr != nil {
				return perr
			}
		}
		return err
	}
}

// Store returns the certificate authority (nil before configure).
func (t *TLSConfig) Store() *certs.Store {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.store
}

func (t *TLSConfig) snapshot() (*state, *certs.Store) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.state, t.store
}

func expandHome(p string) string {
	if strings.HasPrefix(p, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, p[2:])
		}
	}
	return p
}

func trustedRoots(caFile, caDir string) (*x509.CertPool, error) {
	if caFile == "" && caDir == "" {
		return nil, nil
	}
	pool := x509.NewCertPool()
	if caFile != "" {
		data, err := os.ReadFile(expandHome(caFile))
		if err != nil {
			return nil, fmt.Errorf("option ssl_verify_upstream_trusted_ca: %w", err)
		}
		if !pool.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("option ssl_verify_upstream_trusted_ca: no PEM certificate in %s", caFile)
		}
	}
	if caDir != "" {
		entries, err := os.ReadDir(expandHome(caDir))
		if err != nil {
			return nil, fmt.Errorf("option ssl_verify_upstream_trusted_confdir: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			if data, err := os.ReadFile(filepath.Join(expandHome(caDir), e.Name())); err == nil {
				pool.AppendCertsFromPEM(data)
			}
		}
	}
	return pool, nil
}

// TLSClientHello passes connections through untouched when ignore_hosts
// matches (or allow_hosts does not).
func (t *TLSConfig) TLSClientHello(d *addon.ClientHelloData) {
	st, _ := t.snapshot()
	if st == nil || (len(st.ignore) == 0 && len(st.allow) == 0) {
		return
	}
	port := strconv.Itoa(d.Server.Address.Port)
	forms := []string{d.Server.Address.String()}
	if d.SNI != "" {
		forms = append(forms, d.SNI+":"+port)
	}
	if d.Server.Peername.Host != "" {
		forms = append(forms, d.Server.Peername.String())
	}
	if len(st.ignore) > 0 && st.ignore.Match(forms...) {
		d.IgnoreConnection = true
	}
	if len(st.allow) > 0 && !st.allow.Match(forms...) {
		d.IgnoreConnection = true
	}
}

// TLSStartServer configures the handshake with the server: verification
// (unless ssl_insecure), SNI, the client's ALPN offers we can speak, a
// client certificate when client_certs has one, and the versions, cipher
// suites (ciphers_server) and curves (tls_ecdh_curve_server) allowed.
func (t *TLSConfig) TLSStartServer(d *addon.TLSData) {
	st, _ := t.snapshot()
	if st == nil {
		return
	}
	cfg := &tls.Config{
		ServerName:         d.Server.SNI,
		InsecureSkipVerify: st.insecure,
		RootCAs:            st.roots,
		MinVersion:         st.serverMin,
		MaxVersion:         st.serverMax,
		CurvePreferences:   st.server.curves,
	}
	if cfg.ServerName == "" {
		// Verify against the address we connected to (an IP literal).
		cfg.ServerName = d.Server.Address.Host
	}
	if t.sessions != nil {
		cfg.ClientSessionCache = serverSessions{t.sessions, d.Server.Address.String()}
	}
	// As mitmproxy: the server is offered what the client offered (the
	// proxy passes the client's offers on), without h2 when http2 is off,
	// so that both sides end up on the same protocol.
	for _, p := range d.Server.ALPNOffers {
		if p != "h2" || st.http2 {
			cfg.NextProtos = append(cfg.NextProtos, p)
		}
	}

	if st.clientCerts != "" {
		// In a directory mitmproxy looks for "<sni>.pem", or for
		// "<address>.pem" when the connection has no SNI (a client that
		// addresses the server by IP sends none). Looking up the SNI only
		// left such servers without their certificate.
		name := d.Server.SNI
		if name == "" {
			name = d.Server.Address.Host
		}
		cert, err := loadClientCert(expandHome(st.clientCerts), name)
		switch {
		case err != nil:
			// mitmproxy fails the server connection when the certificate
			// cannot be loaded ("Cannot load TLS client certificate").
			// Going on without it only hid the reason behind the server's
			// "certificate required"; failing the handshake puts it in the
			// flow's error and the client's 502.
			err = fmt.Errorf("client_certs: cannot load the TLS client certificate: %w", err)
			t.ctx.Log.Error(err.Error())
			failVerification(cfg, err)
		case cert != nil:
			cfg.Certificates = []tls.Certificate{*cert}
		}
	}
	ciphers, err := connCiphers(st.server, &d.Server.CipherList)
	if err != nil {
		// mitmproxy fails the connection on a cipher list OpenSSL refuses.
		err = fmt.Errorf("ciphers_server: %w", err)
		t.ctx.Log.Error(err.Error())
		failVerification(cfg, err)
	}
	cfg.CipherSuites = ciphers
	d.Config = cfg
}

// serverSessions is the session cache as one server connection sees it.
// crypto/tls files sessions under the server name alone; two servers with
// one name on different ports (or addresses) would then be offered each
// other's sessions, each refused, each replacing the other's. Prefixing the
// address keeps them apart.
type serverSessions struct {
	cache   tls.ClientSessionCache
	address string
}

func (s serverSessions) Get(key string) (*tls.ClientSessionState, bool) {
	return s.cache.Get(s.address + " " + key)
}

func (s serverSessions) Put(key string, cs *tls.ClientSessionState) {
	s.cache.Put(s.address+" "+key, cs)
}

// loadClientCert finds the client certificate for a server: path itself when
// it is a file, else <name>.pem in the directory path, as mitmproxy does. It
// returns nil, nil when the directory has no file for name. The PEM holds
// the certificate (then its chain) and the private key, in either order:
// OpenSSL, which mitmproxy uses, takes the first key and the certificates
// wherever they are in the file, and so does tls.X509KeyPair.
func loadClientCert(path, name string) (*tls.Certificate, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		// The name comes from the client's ClientHello: never let it
		// leave the directory.
		if name == "" || strings.ContainsRune(name, '/') || strings.ContainsRune(name, filepath.Separator) {
			return nil, nil
		}
		path = filepath.Join(path, name+".pem")
		// Like mitmproxy's os.path.isfile: anything but a regular file
		// (or a link to one) is no certificate.
		if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
			return nil, nil
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(data, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &cert, nil
}

// TLSStartClient configures the handshake with the client: a leaf minted for
// the SNI (or the CONNECT host), with the server certificate's names when
// upstream_cert is on, the ALPN the server chose, the versions, cipher
// suites (ciphers_client) and curves (tls_ecdh_curve_client) allowed, and
// a certificate request when request_client_cert is on.
func (t *TLSConfig) TLSStartClient(d *addon.TLSData) {
	st, store := t.snapshot()
	if st == nil || store == nil {
		return
	}
	var upstream *x509.Certificate
	if st.upstreamCert && len(d.Server.CertificateList) > 0 {
		if c, err := t.upstreamCerts.parse(d.Server.CertificateList[0]); err == nil {
			upstream = c
		}
	}
	cfg := t.tickets.config(time.Now()).Clone()
	cfg.GetCertificate = store.GetCertificateFor(d.Server.Address.Host, upstream)
	if st.addUpstreamCerts && len(d.Server.CertificateList) > 0 {
		cfg.GetCertificate = withExtraCerts(cfg.GetCertificate, d.Server.CertificateList)
	}
	cfg.MinVersion = st.clientMin
	cfg.MaxVersion = st.clientMax
	cfg.CurvePreferences = st.client.curves
	ciphers, err := connCiphers(st.client, &d.Client.CipherList)
	if err != nil {
		err = fmt.Errorf("ciphers_client: %w", err)
		t.ctx.Log.Error(err.Error())
		cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) { return nil, err }
	}
	cfg.CipherSuites = ciphers
	if st.requestClientCert {
		// Ask for a certificate and take whatever comes, or nothing, as
		// mitmproxy does with its accept-everything verify callback: the
		// certificate is recorded (the flow's client_conn
		// certificate_list), not checked.
		cfg.ClientAuth = tls.RequestClientCert
	}
	cfg.NextProtos = clientALPN(d, st.http2)
	d.Config = cfg
}

// clientALPN is what the client may choose from, as mitmproxy's ALPN
// selection: the server's choice where the server made one, nothing where
// a connected server chose none (mirrored: the client gets no ALPN either),
// else the client's HTTP offers in its order of preference (crypto/tls
// picks the first of ours that the client offered).
func clientALPN(d *addon.TLSData, http2 bool) []string {
	if d.Server.ALPN != "" {
		return []string{d.Server.ALPN}
	}
	if d.Server.TimestampTLSSetup != 0 || d.ClientHello == nil {
		return nil
	}
	var out []string
	for _, p := range d.ClientHello.ALPNProtocols {
		switch p {
		case "h2":
			if http2 {
				out = append(out, p)
			}
		case "http/1.1", "http/1.0", "http/0.9":
			out = append(out, p)
		}
	}
	return out
}

// withExtraCerts serves get's certificate with extra appended to its chain,
// as mitmproxy does for add_upstream_certs_to_client_chain: a client that
// checks the server's own certificates (pinning them, say) finds them
// there. The certificate get returns is shared (cached), so it is copied.
func withExtraCerts(get func(*tls.ClientHelloInfo) (*tls.Certificate, error), extra [][]byte) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		c, err := get(h)
		if err != nil || c == nil {
			return c, err
		}
		withExtra := *c
		withExtra.Certificate = append(slices.Clip(c.Certificate), extra...)
		return &withExtra, nil
	}
}

// ticketKeys rotates the session ticket keys as crypto/tls does for a
// single long-lived configuration: a new key every day, tickets accepted
// for a week.
type ticketKeys struct {
	mu      sync.Mutex
	keys    [][32]byte
	created time.Time
	// base holds the keys; every client connection's configuration is a
	// clone of it.
	base *tls.Config
}

const (
	ticketKeyRotation = 24 * time.Hour
	ticketKeyLifetime = 7 * 24 * time.Hour
)

func (k *ticketKeys) config(now time.Time) *tls.Config {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.base != nil && now.Sub(k.created) < ticketKeyRotation {
		return k.base
	}
	var key [32]byte
	rand.Read(key[:]) // never fails (crypto/rand.Read panics rather)
	keep := int(ticketKeyLifetime/ticketKeyRotation) - 1
	k.keys = append([][32]byte{key}, k.keys[:min(len(k.keys), keep)]...)
	k.base = &tls.Config{}
	k.base.SetSessionTicketKeys(k.keys)
	k.created = now
	return k.base
}

// PEM returns the CA certificate in PEM form (for tests and onboarding).
func (t *TLSConfig) PEM() []byte {
	s := t.Store()
	if s == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.CA().Raw})
}

var (
	_ addon.LoadHook           = (*TLSConfig)(nil)
	_ addon.ConfigureHook      = (*TLSConfig)(nil)
	_ addon.TLSClientHelloHook = (*TLSConfig)(nil)
	_ addon.TLSStartClientHook = (*TLSConfig)(nil)
	_ addon.TLSStartServerHook = (*TLSConfig)(nil)
)
