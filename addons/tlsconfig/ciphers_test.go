package tlsconfig

import (
	"crypto/tls"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestCipherSuiteTable: the table has every TLS 1.0-1.2 suite crypto/tls
// implements, once, and nothing else; names are unique.
func TestCipherSuiteTable(t *testing.T) {
	goSuites := map[uint16]bool{}
	for _, c := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if !slices.Equal(c.SupportedVersions, []uint16{tls.VersionTLS13}) {
			goSuites[c.ID] = true
		}
	}
	seen := map[uint16]bool{}
	names := map[string]bool{}
	for _, c := range cipherSuites {
		if !goSuites[c.id] {
			t.Errorf("%s (%#04x) is not a TLS 1.0-1.2 suite of crypto/tls", c.name(), c.id)
		}
		if seen[c.id] || names[c.name()] {
			t.Errorf("%s (%#04x) is in the table twice", c.name(), c.id)
		}
		seen[c.id], names[c.name()] = true, true
		if got := suiteByName[tls.CipherSuiteName(c.id)]; got == nil || got.id != c.id {
			t.Errorf("the IANA name %s does not find %s", tls.CipherSuiteName(c.id), c.name())
		}
		if unimplementedSuite(c.name()) != true {
			// The heuristic for suites Go lacks must at least know the
			// words of those it has.
			t.Errorf("%s does not have the form of an OpenSSL suite name", c.name())
		}
	}
	for id := range goSuites {
		if !seen[id] {
			t.Errorf("crypto/tls's %s is missing from the table", tls.CipherSuiteName(id))
		}
	}
}

// TestCipherKeywordCase: every keyword, as written, selects its own
// suites, even where another differs only in case (kECDHE, kECDHe); in
// another case, the one that selects suites wins.
func TestCipherKeywordCase(t *testing.T) {
	selects := func(sel func(*cipherSuite) bool) (n int) {
		for i := range cipherSuites {
			if sel(&cipherSuites[i]) {
				n++
			}
		}
		return n
	}
	for _, k := range cipherKeywords {
		rule := "ALL:!" + k.name
		cl, err := parseCiphers(rule)
		if err != nil && selects(k.sel) != len(cipherSuites) {
			t.Errorf("%s: %v", rule, err)
			continue
		}
		if err == nil && len(cl.ids) != len(cipherSuites)-selects(k.sel) {
			t.Errorf("%s leaves %d suites, want %d", rule, len(cl.ids), len(cipherSuites)-selects(k.sel))
		}
	}
	for _, tc := range []struct {
		in   string
		want int
	}{{"kecdhe", 15}, {"KECDHE", 15}, {"adh", 0}, {"ecdsa", 7}} {
		if got := selects(cipherKeywordFolded[strings.ToUpper(tc.in)]); got != tc.want {
			t.Errorf("%s selects %d suites without case, want %d", tc.in, got, tc.want)
		}
	}
	if cl, err := parseCiphers("ALL:!kECDHr:!kECDHe"); err != nil || len(cl.ids) != len(cipherSuites) {
		t.Errorf("the obsolete fixed-ECDH keywords took out ECDHE suites: %v, %v", cl, err)
	}
}

func opensslNames(ids []uint16) []string {
	var out []string
	for _, id := range ids {
		for _, c := range cipherSuites {
			if c.id == id {
				out = append(out, c.name())
			}
		}
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

var (
	allSuites = opensslNames(func() []uint16 {
		var ids []uint16
		for _, c := range cipherSuites {
			ids = append(ids, c.id)
		}
		return ids
	}())
	high = []string{
		"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
		"ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256",
		"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA",
		"AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA256", "AES128-SHA", "AES256-SHA",
	}
	ecdheGCM = []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384"}
	weak     = []string{"ECDHE-RSA-DES-CBC3-SHA", "ECDHE-ECDSA-RC4-SHA", "ECDHE-RSA-RC4-SHA", "DES-CBC3-SHA", "RC4-SHA"}
	// mozillaIntermediate is Mozilla's "intermediate" server configuration,
	// with DHE suites crypto/tls does not implement.
	mozillaIntermediate = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" +
		"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"
)

func without(all []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(all), func(s string) bool { return slices.Contains(drop, s) })
}

func TestParseCiphers(t *testing.T) {
	tests := []struct {
		in   string
		want []string // as a set; empty with no wantErr: TLS 1.3 only
		// wantSkipped are the suites left out as not implemented.
		wantSkipped []string
		wantErr     []string // substrings of the error
	}{
		{in: "ECDHE-RSA-AES128-GCM-SHA256", want: []string{"ECDHE-RSA-AES128-GCM-SHA256"}},
		{in: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", want: []string{"ECDHE-RSA-AES128-GCM-SHA256"}},
		{in: "ecdhe-rsa-aes128-gcm-sha256", want: []string{"ECDHE-RSA-AES128-GCM-SHA256"}},
		{in: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", want: []string{"ECDHE-ECDSA-CHACHA20-POLY1305"}},
		{in: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", want: []string{"ECDHE-ECDSA-CHACHA20-POLY1305"}},
		{
			in:   "ECDHE-RSA-AES128-GCM-SHA256:AES128-GCM-SHA256, ECDHE-ECDSA-CHACHA20-POLY1305 ;RC4-SHA:DES-CBC3-SHA",
			want: []string{"ECDHE-RSA-AES128-GCM-SHA256", "AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305", "RC4-SHA", "DES-CBC3-SHA"},
		},
		{in: "ALL", want: allSuites},
		{in: "DEFAULT", want: without(allSuites, weak...)},
		{in: "COMPLEMENTOFDEFAULT", want: weak},
		{in: "MEDIUM", want: weak},
		{in: "HIGH", want: high},
		{in: "HIGH:!aNULL:!MD5", want: high},
		{in: "high:!anull", want: high},
		{in: "HIGH:!aNULL:!eNULL:!EXPORT:!DES:!RC4:!MD5:!PSK:!SRP:!CAMELLIA:!3DES:!DSS", want: high},
		{in: "ECDHE+AESGCM", want: ecdheGCM},
		{in: "EECDH+AESGCM:EDH+AESGCM", want: ecdheGCM},
		{in: "kECDHE+aECDSA+AES128", want: []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES128-SHA"}},
		{in: "ECDHE:!ECDSA:!SHA1:!3DES:!RC4", want: []string{"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-RSA-AES128-SHA256"}},
		{in: "CHACHA20", want: []string{"ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"}},
		{in: "TLSv1.2+kRSA", want: []string{"AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA256"}},
		{in: "SSLv3", want: []string{"AES128-SHA", "AES256-SHA", "DES-CBC3-SHA", "RC4-SHA"}},
		{in: "TLSv1:!MEDIUM", want: []string{"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA"}},
		{in: "CBC+SHA256", want: []string{"ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256", "AES128-SHA256"}},
		// "-" takes suites out until they are added again; "!" for good.
		{in: "HIGH:-kRSA:kRSA+AESGCM", want: append(without(high, "AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA256", "AES128-SHA", "AES256-SHA"), "AES128-GCM-SHA256", "AES256-GCM-SHA384")},
		{in: "HIGH:!kRSA:kRSA+AESGCM", want: without(high, "AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA256", "AES128-SHA", "AES256-SHA")},
		// "+" and @STRENGTH only reorder.
		{in: "HIGH:+AES128:@STRENGTH", want: high},
		{in: "DEFAULT@SECLEVEL=1", want: without(allSuites, weak...)},
		{in: "ALL:@SECLEVEL=2", want: without(allSuites, "ECDHE-ECDSA-RC4-SHA", "ECDHE-RSA-RC4-SHA", "RC4-SHA")},
		{in: "ALL@SECLEVEL=3", want: without(high, "AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA256", "AES128-SHA", "AES256-SHA")},
		{in: "ALL:@SECLEVEL=4", want: []string{"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"}},
		// TLS 1.3 names are accepted and change nothing; alone, they leave
		// no TLS 1.2 suite.
		{in: "TLS_AES_128_GCM_SHA256", want: []string{}},
		{in: "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256", want: []string{}},
		{in: "TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES128-GCM-SHA256", want: []string{"ECDHE-RSA-AES128-GCM-SHA256"}},
		// Suites crypto/tls lacks are left out, as OpenSSL leaves out those
		// it lacks.
		{in: mozillaIntermediate, want: append(slices.Clone(ecdheGCM), "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"),
			wantSkipped: []string{"DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384", "DHE-RSA-CHACHA20-POLY1305"}},
		{in: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256:AES128-SHA", want: []string{"AES128-SHA"}, wantSkipped: []string{"TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"}},

		{in: "NOPE", wantErr: []string{`unknown cipher suite or keyword "NOPE"`}},
		{in: "HIGH:FOO+AES", wantErr: []string{`"FOO"`}},
		{in: "ECDHE-RSA-AES128-GCM-SHA265", wantErr: []string{`unknown cipher suite or keyword "ECDHE-RSA-AES128-GCM-SHA265"`}},
		{in: "TLSv1.3", wantErr: []string{`"TLSv1.3"`}},
		{in: "DHE-RSA-AES128-GCM-SHA256", wantErr: []string{"selects no cipher suite Go implements", "not implemented: DHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256"}},
		{in: "aNULL", wantErr: []string{`"aNULL" selects no cipher suite`}},
		{in: "HIGH:!HIGH", wantErr: []string{"selects no cipher suite"}},
		{in: "", wantErr: []string{"no cipher in"}},
		{in: " : ,", wantErr: []string{"no cipher in"}},
		{in: "!", wantErr: []string{"empty cipher name"}},
		{in: "ECDHE+", wantErr: []string{"empty cipher name"}},
		{in: "HIGH@FOO", wantErr: []string{`unknown cipher string command "@FOO"`}},
		{in: "HIGH@", wantErr: []string{`unknown cipher string command "@"`}},
		{in: "HIGH:@SECLEVEL=9", wantErr: []string{"invalid security level"}},
		{in: "SUITEB128", wantErr: []string{"Suite B"}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			cl, err := parseCiphers(tc.in)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("got %v, want an error", opensslNames(cl.ids))
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cl.ids == nil {
				t.Error("nil list: crypto/tls would use its defaults")
			}
			if got := opensslNames(cl.ids); !slices.Equal(sorted(got), sorted(tc.want)) {
				t.Errorf("got  %v\nwant %v", sorted(got), sorted(tc.want))
			}
			if !slices.Equal(cl.skipped, tc.wantSkipped) {
				t.Errorf("skipped %v, want %v", cl.skipped, tc.wantSkipped)
			}
		})
	}
}

// TestParseCiphersOrder: the list keeps OpenSSL's order (crypto/tls
// ignores it, but it shows in logs and tests).
func TestParseCiphersOrder(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256", []string{"AES128-SHA", "ECDHE-RSA-AES128-GCM-SHA256"}},
		{"AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256:+AES128-SHA", []string{"ECDHE-RSA-AES128-GCM-SHA256", "AES128-SHA"}},
		{"AES128-SHA:AES256-SHA:DES-CBC3-SHA@STRENGTH", []string{"AES256-SHA", "AES128-SHA", "DES-CBC3-SHA"}},
		{"AES128-SHA:AES128-SHA:AES256-SHA", []string{"AES128-SHA", "AES256-SHA"}},
	}
	for _, tc := range tests {
		cl, err := parseCiphers(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := opensslNames(cl.ids); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestParseCiphersOpenSSL compares the suites selected with what OpenSSL
// selects (`openssl ciphers`), over the suites both implement. OpenSSL
// builds differ in the weak suites they have, so those only count when
// the local openssl knows them.
func TestParseCiphersOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl command")
	}
	opensslList := func(s string) map[string]bool {
		out, err := exec.Command("openssl", "ciphers", s).Output()
		m := map[string]bool{}
		if err != nil {
			return m // "no cipher match"
		}
		for _, n := range strings.Split(strings.TrimSpace(string(out)), ":") {
			m[n] = true
		}
		return m
	}
	known := opensslList("ALL:COMPLEMENTOFALL")
	for _, s := range []string{
		"DEFAULT", "ALL", "HIGH", "MEDIUM", "HIGH:!aNULL:!MD5", "ECDHE", "EECDH", "ECDH", "kRSA", "RSA", "aRSA", "aECDSA", "ECDSA",
		"AES128", "AES256", "AES", "AESGCM", "CHACHA20", "CBC", "SHA1", "SHA", "SHA256", "SHA384", "FIPS",
		"TLSv1.2", "TLSv1", "TLSv1.0", "SSLv3", "COMPLEMENTOFDEFAULT",
		"EECDH+AESGCM:EDH+AESGCM", "ECDH+AESGCM:ECDH+CHACHA20:RSA+AESGCM:!aNULL:!MD5:!DSS",
		"HIGH:-kRSA:kRSA+AESGCM", "HIGH:!kRSA:kRSA+AESGCM", "ALL:-SHA1:ECDHE-RSA-AES128-SHA",
		"ECDHE:!ECDSA:!SHA1", "kECDHE+aECDSA+AES128", "TLSv1.2+kRSA", "CBC+SHA256",
		mozillaIntermediate, "DEFAULT:!CHACHA20:+AES256", "HIGH:!AESGCM:!SHA1",
	} {
		var mine []string
		if cl, err := parseCiphers(s); err == nil {
			mine = opensslNames(cl.ids)
		} else if !strings.Contains(err.Error(), "selects no cipher suite") {
			t.Errorf("%s: %v", s, err)
			continue
		}
		ref := opensslList(s)
		var want, got []string
		for _, n := range allSuites {
			if known[n] && ref[n] {
				want = append(want, n)
			}
			if known[n] && slices.Contains(mine, n) {
				got = append(got, n)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s:\ngot     %v\nopenssl %v", s, got, want)
		}
	}
}

func FuzzParseCiphers(f *testing.F) {
	for _, s := range []string{
		"ECDHE-RSA-AES128-GCM-SHA256", "HIGH:!aNULL:!MD5", "EECDH+AESGCM:EDH+AESGCM", "DEFAULT@SECLEVEL=3",
		"ALL:-RSA:+AES128:@STRENGTH", "TLS_AES_128_GCM_SHA256", mozillaIntermediate, "!", "a+", "@", "::", "X@Y@Z",
		"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,ECDHE-ECDSA-CHACHA20-POLY1305 RC4-SHA;NOPE",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cl, err := parseCiphers(s)
		if err != nil {
			if cl != nil {
				t.Fatal("a list with an error")
			}
			return
		}
		if cl.ids == nil {
			t.Fatal("nil list")
		}
		seen := map[uint16]bool{}
		for _, id := range cl.ids {
			if seen[id] {
				t.Fatalf("%#04x twice", id)
			}
			seen[id] = true
			if _, ok := suiteByName[tls.CipherSuiteName(id)]; !ok {
				t.Fatalf("%#04x is not in the table", id)
			}
		}
		if len(cl.ids) == 0 {
			return
		}
		// The result, written out, selects itself.
		again, err := parseCiphers(strings.Join(opensslNames(cl.ids), ":"))
		if err != nil || !slices.Equal(again.ids, cl.ids) {
			t.Fatalf("%q gave %v; that list gives %v, %v", s, opensslNames(cl.ids), again, err)
		}
	})
}
