package tlsconfig

import (
	"crypto/tls"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/mitmgo/mitmgo/internal/tlsnames"
)

// The options ciphers_client and ciphers_server are OpenSSL cipher
// strings, which mitmproxy hands to OpenSSL's SSL_CTX_set_cipher_list.
// parseCiphers evaluates them over the TLS 1.0-1.2 suites crypto/tls
// implements, with OpenSSL's meaning for suite names and keywords, into a
// list for tls.Config.CipherSuites.

// The attributes OpenSSL classifies suites by (see ciphers(1)).
type (
	keyExchange uint8
	authMethod  uint8
	encryption  uint8
	macAlg      uint8
)

const (
	kxRSA keyExchange = iota + 1
	kxECDHE
)

const (
	auRSA authMethod = iota + 1
	auECDSA
)

const (
	encAES128 encryption = 1 << iota // AES in CBC mode
	encAES256
	encAES128GCM
	encAES256GCM
	encCHACHA20
	enc3DES
	encRC4

	encAESGCM = encAES128GCM | encAES256GCM
	encAES    = encAES128 | encAES256 | encAESGCM
	// encNotDefault are OpenSSL's SSL_NOT_DEFAULT suites: in ALL, not in
	// DEFAULT.
	encNotDefault = enc3DES | encRC4
)

const (
	macSHA1 macAlg = iota + 1
	macSHA256
	macSHA384
	macAEAD
)

// The protocol version OpenSSL lists a suite under (the first that
// defined it); its keywords SSLv3, TLSv1 and TLSv1.2 select by it.
const (
	protoSSL3  = 0x0300
	protoTLS1  = tls.VersionTLS10
	protoTLS12 = tls.VersionTLS12
)

// cipherSuite is a TLS 1.0-1.2 suite crypto/tls implements, with its
// OpenSSL name and classification.
type cipherSuite struct {
	id    uint16
	kx    keyExchange
	au    authMethod
	enc   encryption
	mac   macAlg
	proto uint16
	bits  int // the cipher's strength, as OpenSSL counts it
}

// name is OpenSSL's name of the suite.
func (c *cipherSuite) name() string { return tlsnames.CipherName(c.id) }

// cipherSuites are the suites of tls.CipherSuites and
// tls.InsecureCipherSuites for TLS 1.0-1.2 (named by internal/tlsnames as
// OpenSSL names their IANA counterparts).
var cipherSuites = []cipherSuite{
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, kxECDHE, auECDSA, encAES128GCM, macAEAD, protoTLS12, 128},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, kxECDHE, auECDSA, encAES256GCM, macAEAD, protoTLS12, 256},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, kxECDHE, auRSA, encAES128GCM, macAEAD, protoTLS12, 128},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, kxECDHE, auRSA, encAES256GCM, macAEAD, protoTLS12, 256},
	{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, kxECDHE, auECDSA, encCHACHA20, macAEAD, protoTLS12, 256},
	{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, kxECDHE, auRSA, encCHACHA20, macAEAD, protoTLS12, 256},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, kxECDHE, auECDSA, encAES128, macSHA256, protoTLS12, 128},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, kxECDHE, auRSA, encAES128, macSHA256, protoTLS12, 128},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, kxECDHE, auECDSA, encAES128, macSHA1, protoTLS1, 128},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, kxECDHE, auECDSA, encAES256, macSHA1, protoTLS1, 256},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, kxECDHE, auRSA, encAES128, macSHA1, protoTLS1, 128},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, kxECDHE, auRSA, encAES256, macSHA1, protoTLS1, 256},
	{tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, kxECDHE, auRSA, enc3DES, macSHA1, protoTLS1, 112},
	{tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA, kxECDHE, auECDSA, encRC4, macSHA1, protoTLS1, 128},
	{tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA, kxECDHE, auRSA, encRC4, macSHA1, protoTLS1, 128},
	{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, kxRSA, auRSA, encAES128GCM, macAEAD, protoTLS12, 128},
	{tls.TLS_RSA_WITH_AES_256_GCM_SHA384, kxRSA, auRSA, encAES256GCM, macAEAD, protoTLS12, 256},
	{tls.TLS_RSA_WITH_AES_128_CBC_SHA256, kxRSA, auRSA, encAES128, macSHA256, protoTLS12, 128},
	{tls.TLS_RSA_WITH_AES_128_CBC_SHA, kxRSA, auRSA, encAES128, macSHA1, protoSSL3, 128},
	{tls.TLS_RSA_WITH_AES_256_CBC_SHA, kxRSA, auRSA, encAES256, macSHA1, protoSSL3, 256},
	{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, kxRSA, auRSA, enc3DES, macSHA1, protoSSL3, 112},
	{tls.TLS_RSA_WITH_RC4_128_SHA, kxRSA, auRSA, encRC4, macSHA1, protoSSL3, 128},
}

// suiteByName finds a suite by its OpenSSL or IANA name, upper-cased.
var suiteByName = func() map[string]*cipherSuite {
	m := map[string]*cipherSuite{}
	for i := range cipherSuites {
		s := &cipherSuites[i]
		m[s.name()] = s
		m[tls.CipherSuiteName(s.id)] = s
	}
	// crypto/tls's own names for the ChaCha20 suites lack the hash.
	m["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"] = m["ECDHE-RSA-CHACHA20-POLY1305"]
	m["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"] = m["ECDHE-ECDSA-CHACHA20-POLY1305"]
	return m
}()

// tls13Suites are the TLS 1.3 suite names (the same in OpenSSL and IANA).
// They are accepted and have no effect: crypto/tls does not let TLS 1.3
// suites be configured (it always offers and accepts its three, choosing
// by the hardware's AES support), and OpenSSL itself takes them from a
// separate setting (SSL_CTX_set_ciphersuites), not from the cipher string.
var tls13Suites = map[string]bool{
	"TLS_AES_128_GCM_SHA256":       true,
	"TLS_AES_256_GCM_SHA384":       true,
	"TLS_CHACHA20_POLY1305_SHA256": true,
	"TLS_AES_128_CCM_SHA256":       true,
	"TLS_AES_128_CCM_8_SHA256":     true,
}

type cipherKeyword struct {
	name string
	sel  func(*cipherSuite) bool
}

func none(*cipherSuite) bool { return false }

// cipherKeywords are OpenSSL's cipher string keywords (aliases), with
// what each selects among the suites above. Those that select no suite
// crypto/tls implements (DHE, PSK, CAMELLIA, aNULL...) are here as well:
// lists such as "HIGH:!aNULL:!MD5" are common, and their exclusions must
// be understood, not refused. OpenSSL matches keywords case-sensitively;
// parseCiphers falls back to matching without case (see
// cipherKeywordFolded). The keywords that select suites come first.
var cipherKeywords = func() []cipherKeyword {
	enc := func(e encryption) func(*cipherSuite) bool {
		return func(s *cipherSuite) bool { return s.enc&e != 0 }
	}
	kx := func(k keyExchange) func(*cipherSuite) bool {
		return func(s *cipherSuite) bool { return s.kx == k }
	}
	au := func(a authMethod) func(*cipherSuite) bool {
		return func(s *cipherSuite) bool { return s.au == a }
	}
	mac := func(m macAlg) func(*cipherSuite) bool {
		return func(s *cipherSuite) bool { return s.mac == m }
	}
	proto := func(p uint16) func(*cipherSuite) bool {
		return func(s *cipherSuite) bool { return s.proto == p }
	}
	kws := []cipherKeyword{
		// ALL is everything but the eNULL suites (crypto/tls has none).
		{"ALL", func(*cipherSuite) bool { return true }},
		// DEFAULT is "ALL:!COMPLEMENTOFDEFAULT:!eNULL"; the complement of
		// default is the anonymous suites and those OpenSSL marks
		// SSL_NOT_DEFAULT (3DES and RC4).
		{"DEFAULT", func(s *cipherSuite) bool { return s.enc&encNotDefault == 0 }},
		{"COMPLEMENTOFDEFAULT", enc(encNotDefault)},
		{"HIGH", enc(encAES | encCHACHA20)},
		{"MEDIUM", enc(enc3DES | encRC4)},
		{"FIPS", enc(encAES | enc3DES)},
		{"kRSA", kx(kxRSA)},
		{"RSA", kx(kxRSA)},
		{"aRSA", au(auRSA)},
		{"kECDHE", kx(kxECDHE)},
		{"kEECDH", kx(kxECDHE)},
		{"ECDHE", kx(kxECDHE)},
		{"EECDH", kx(kxECDHE)},
		{"ECDH", kx(kxECDHE)},
		{"aECDSA", au(auECDSA)},
		{"ECDSA", au(auECDSA)},
		{"SSLv3", proto(protoSSL3)},
		{"TLSv1", proto(protoTLS1)},
		{"TLSv1.0", proto(protoTLS1)},
		{"TLSv1.2", proto(protoTLS12)},
		{"AES128", enc(encAES128 | encAES128GCM)},
		{"AES256", enc(encAES256 | encAES256GCM)},
		{"AES", enc(encAES)},
		{"AESGCM", enc(encAESGCM)},
		{"CHACHA20", enc(encCHACHA20)},
		{"3DES", enc(enc3DES)},
		{"RC4", enc(encRC4)},
		{"CBC", enc(encAES128 | encAES256 | enc3DES)},
		{"SHA1", mac(macSHA1)},
		{"SHA", mac(macSHA1)},
		{"SHA256", mac(macSHA256)},
		{"SHA384", mac(macSHA384)},
	}
	for _, name := range []string{
		"COMPLEMENTOFALL", "eNULL", "NULL", "aNULL", "LOW", "EXP", "EXPORT", "EXPORT40", "EXPORT56", "SSLv2",
		"kDHr", "kDHd", "kDH", "kDHE", "kEDH", "DH", "DHE", "EDH", "ADH", "AECDH",
		"kECDHr", "kECDHe", "kECDH", "aECDH", "aDH", "aDSS", "DSS",
		"PSK", "kPSK", "kECDHEPSK", "kDHEPSK", "kRSAPSK", "aPSK", "SRP", "kSRP", "aSRP",
		"aGOST", "aGOST01", "aGOST12", "kGOST", "kGOST18", "GOST94", "GOST89MAC", "GOST12", "GOST89",
		"KRB5", "kKRB5", "aKRB5",
		"AESCCM", "AESCCM8", "ARIA", "ARIA128", "ARIA256", "ARIAGCM", "CAMELLIA", "CAMELLIA128", "CAMELLIA256",
		"DES", "RC2", "IDEA", "SEED", "MD5",
	} {
		kws = append(kws, cipherKeyword{name, none})
	}
	return kws
}()

// cipherKeywordByName finds a keyword by its name as written, and
// cipherKeywordFolded by its upper-cased name, for keywords written in
// another case. Where OpenSSL keywords differ only in case (kECDHE and the
// obsolete kECDHe, ADH and aDH) the first in cipherKeywords, the one that
// selects suites, is the one found without case.
var cipherKeywordByName, cipherKeywordFolded = func() (exact, folded map[string]func(*cipherSuite) bool) {
	exact, folded = map[string]func(*cipherSuite) bool{}, map[string]func(*cipherSuite) bool{}
	for _, k := range cipherKeywords {
		exact[k.name] = k.sel
		if _, ok := folded[strings.ToUpper(k.name)]; !ok {
			folded[strings.ToUpper(k.name)] = k.sel
		}
	}
	return exact, folded
}()

// opensslSuiteToken holds the words OpenSSL suite names are made of;
// ianaSuiteName is the form of IANA names. A name of that form that is not
// in cipherSuites names a suite crypto/tls does not implement (DHE,
// CAMELLIA, PSK...): OpenSSL leaves out the suites it lacks from a list
// too, so it is left out, with a warning, rather than refused. Anything
// else is an error.
var (
	opensslSuiteToken = func() map[string]bool {
		m := map[string]bool{}
		for _, t := range strings.Fields(`ECDHE DHE EDH ADH AECDH ECDH DH RSA ECDSA DSS PSK SRP KRB5 EXP EXP1024 NULL
			AES AES128 AES256 GCM CCM CCM8 CBC CBC3 DES EDE 3DES RC4 RC2 IDEA SEED CAMELLIA128 CAMELLIA256
			ARIA128 ARIA256 CHACHA20 POLY1305 SHA SHA256 SHA384 MD5 128 256 40 56
			GOST GOST89 GOST94 GOST2001 GOST2012 GOST12 GOST8912 MAGMA MAGMAOMAC KUZNYECHIK KUZNYECHIKOMAC`) {
			m[t] = true
		}
		return m
	}()
	ianaSuiteName = regexp.MustCompile(`^(TLS|SSL)_[A-Z0-9_]+_WITH_[A-Z0-9_]+$`)
)

// unimplementedSuite reports whether name (upper-cased) has the form of an
// OpenSSL or IANA suite name.
func unimplementedSuite(name string) bool {
	if ianaSuiteName.MatchString(name) {
		return true
	}
	parts := strings.Split(name, "-")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if !opensslSuiteToken[p] {
			return false
		}
	}
	return true
}

// cipherList is a parsed cipher string.
type cipherList struct {
	// ids are for tls.Config.CipherSuites; never nil. Empty when the
	// string names only TLS 1.3 suites: then no TLS 1.0-1.2 suite is
	// enabled (a nil list would enable crypto/tls's defaults).
	ids []uint16
	// skipped are the suites named that crypto/tls does not implement.
	skipped []string
}

// isCipherSep reports OpenSSL's separators in cipher strings.
func isCipherSep(r rune) bool { return r == ':' || r == ',' || r == ' ' || r == ';' }

// parseCiphers evaluates an OpenSSL cipher string, left to right as
// OpenSSL does: "NAME" adds the suites a suite name or keyword selects,
// "A+B" those both select, "-NAME" takes them out again, "!NAME" takes
// them out for good, "+NAME" moves them to the end. "@STRENGTH" sorts by
// strength and "@SECLEVEL=n" applies the security level's restrictions
// on suites. The order is kept, though crypto/tls ignores it.
func parseCiphers(s string) (*cipherList, error) {
	var active []*cipherSuite
	killed := map[uint16]bool{}
	cl := &cipherList{}
	elements, tls13, seclevel := 0, false, -1
	for _, elem := range strings.FieldsFunc(s, isCipherSep) {
		elements++
		// "DEFAULT@SECLEVEL=1" is "DEFAULT" followed by "@SECLEVEL=1".
		head, specials, hasSpecials := strings.Cut(elem, "@")
		if head != "" {
			var err error
			if active, err = applyCipherRule(head, active, killed, cl, &tls13); err != nil {
				return nil, err
			}
		}
		if !hasSpecials {
			continue
		}
		for _, sp := range strings.Split(specials, "@") {
			level, err := cipherSpecial(sp)
			if err != nil {
				return nil, err
			}
			if level >= 0 {
				seclevel = level
				continue
			}
			// @STRENGTH sorts the strongest first.
			slices.SortStableFunc(active, func(a, b *cipherSuite) int { return b.bits - a.bits })
		}
	}
	if elements == 0 {
		return nil, fmt.Errorf("no cipher in %q", s)
	}
	if seclevel > 0 {
		active = slices.DeleteFunc(active, func(c *cipherSuite) bool { return !secLevelAllows(seclevel, c) })
	}
	cl.ids = make([]uint16, 0, len(active))
	for _, c := range active {
		cl.ids = append(cl.ids, c.id)
	}
	if len(cl.ids) == 0 && !tls13 {
		msg := fmt.Sprintf("%q selects no cipher suite Go implements", s)
		if len(cl.skipped) > 0 {
			msg += " (not implemented: " + strings.Join(cl.skipped, ", ") + ")"
		}
		return nil, fmt.Errorf("%s; Go's suites: %s", msg, strings.Join(opensslSuiteNames(), ":"))
	}
	return cl, nil
}

// applyCipherRule applies one element of a cipher string (without its
// "@" commands) to the active list and the suites taken out for good, and
// returns the new active list. It sets *tls13 when the element adds a
// TLS 1.3 suite.
func applyCipherRule(rule string, active []*cipherSuite, killed map[uint16]bool, cl *cipherList, tls13 *bool) ([]*cipherSuite, error) {
	op := rule[0]
	switch op {
	case '!', '-', '+':
		rule = rule[1:]
	default:
		op = 0
	}
	sel, only13, err := cipherSelection(rule, cl)
	if err != nil {
		return nil, err
	}
	switch op {
	case 0:
		*tls13 = *tls13 || only13
		for i := range cipherSuites {
			c := &cipherSuites[i]
			if sel(c) && !killed[c.id] && !slices.Contains(active, c) {
				active = append(active, c)
			}
		}
	case '-', '!':
		active = slices.DeleteFunc(active, sel)
		if op == '!' {
			for i := range cipherSuites {
				if sel(&cipherSuites[i]) {
					killed[cipherSuites[i].id] = true
				}
			}
		}
	case '+':
		var moved []*cipherSuite
		active = slices.DeleteFunc(active, func(c *cipherSuite) bool {
			if sel(c) {
				moved = append(moved, c)
				return true
			}
			return false
		})
		active = append(active, moved...)
	}
	return active, nil
}

// cipherSpecial reads what follows an "@": STRENGTH (-1) or SECLEVEL=n.
func cipherSpecial(sp string) (level int, err error) {
	up := strings.ToUpper(sp)
	if up == "STRENGTH" {
		return -1, nil
	}
	if v, ok := strings.CutPrefix(up, "SECLEVEL="); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 5 {
			return 0, fmt.Errorf("invalid security level in %q (0 to 5)", "@"+sp)
		}
		return n, nil
	}
	return 0, fmt.Errorf("unknown cipher string command %q (known: @STRENGTH, @SECLEVEL=n)", "@"+sp)
}

// secLevelAllows applies OpenSSL's security levels to a suite (see
// SSL_CTX_set_security_level(3)): a minimum cipher strength of 80, 112,
// 128, 192 and 256 bits for levels 1 to 5; no RC4 from level 2; forward
// secrecy from level 3; no SHA-1 MAC from level 4. (The levels' other
// rules concern keys, signatures and protocol versions, not suites.)
func secLevelAllows(level int, c *cipherSuite) bool {
	minBits := [...]int{0, 80, 112, 128, 192, 256}[level]
	switch {
	case c.bits < minBits:
		return false
	case level >= 2 && c.enc == encRC4:
		return false
	case level >= 3 && c.kx == kxRSA:
		return false
	case level >= 4 && c.mac == macSHA1:
		return false
	}
	return true
}

// cipherSelection reads one element of a cipher string without its
// operator: a suite name or keyword, or several joined by "+" (the suites
// all of them select). only13 reports an element that is a TLS 1.3 suite
// name (which selects no TLS 1.0-1.2 suite). Suites crypto/tls does not
// implement are noted in cl.skipped and select nothing.
func cipherSelection(elem string, cl *cipherList) (sel func(*cipherSuite) bool, only13 bool, err error) {
	terms := strings.Split(elem, "+")
	sels := make([]func(*cipherSuite) bool, 0, len(terms))
	for _, term := range terms {
		if term == "" {
			return nil, false, fmt.Errorf("empty cipher name in %q", elem)
		}
		up := strings.ToUpper(term)
		if s, ok := suiteByName[up]; ok {
			sels = append(sels, func(c *cipherSuite) bool { return c == s })
			continue
		}
		if k, ok := cipherKeywordByName[term]; ok {
			sels = append(sels, k)
			continue
		}
		if k, ok := cipherKeywordFolded[up]; ok {
			sels = append(sels, k)
			continue
		}
		if tls13Suites[up] {
			only13 = len(terms) == 1
			sels = append(sels, none)
			continue
		}
		if strings.HasPrefix(up, "SUITEB") {
			return nil, false, fmt.Errorf("the Suite B mode %q is not supported", term)
		}
		if unimplementedSuite(up) {
			if !slices.Contains(cl.skipped, term) {
				cl.skipped = append(cl.skipped, term)
			}
			sels = append(sels, none)
			continue
		}
		return nil, false, fmt.Errorf("unknown cipher suite or keyword %q (use OpenSSL or IANA suite names, such as ECDHE-RSA-AES128-GCM-SHA256, "+
			"or OpenSSL keywords, such as DEFAULT, ALL, HIGH, ECDHE, AESGCM, CHACHA20, with !, - and + as in OpenSSL)", term)
	}
	return func(c *cipherSuite) bool {
		for _, s := range sels {
			if !s(c) {
				return false
			}
		}
		return true
	}, only13, nil
}

// opensslSuiteNames lists the OpenSSL names of the suites crypto/tls
// implements.
func opensslSuiteNames() []string {
	names := make([]string, len(cipherSuites))
	for i, c := range cipherSuites {
		names[i] = c.name()
	}
	return names
}
