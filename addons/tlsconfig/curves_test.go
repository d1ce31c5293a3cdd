package tlsconfig

import (
	"crypto/tls"
	"slices"
	"strings"
	"testing"
)

func TestParseCurves(t *testing.T) {
	tests := []struct {
		in      string
		want    []tls.CurveID
		wantErr string
	}{
		{in: "prime256v1", want: []tls.CurveID{tls.CurveP256}},
		{in: "secp256r1", want: []tls.CurveID{tls.CurveP256}},
		{in: "P-256", want: []tls.CurveID{tls.CurveP256}},
		{in: "PRIME256V1", want: []tls.CurveID{tls.CurveP256}},
		{in: "secp384r1", want: []tls.CurveID{tls.CurveP384}},
		{in: "p-384", want: []tls.CurveID{tls.CurveP384}},
		{in: "secp521r1", want: []tls.CurveID{tls.CurveP521}},
		{in: "P-521", want: []tls.CurveID{tls.CurveP521}},
		{in: "X25519", want: []tls.CurveID{tls.X25519}},
		{in: "x25519", want: []tls.CurveID{tls.X25519}},
		{in: "X25519MLKEM768", want: []tls.CurveID{tls.X25519MLKEM768}},
		{in: "SecP256r1MLKEM768", want: []tls.CurveID{tls.SecP256r1MLKEM768}},
		{in: "SecP384r1MLKEM1024", want: []tls.CurveID{tls.SecP384r1MLKEM1024}},
		{in: " secp384r1 ", want: []tls.CurveID{tls.CurveP384}},
		// OpenSSL group lists.
		{in: "X25519:P-256:secp384r1", want: []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384}},
		{in: "prime256v1,secp384r1", want: []tls.CurveID{tls.CurveP256, tls.CurveP384}},
		{in: "X25519:x25519:P-256:prime256v1", want: []tls.CurveID{tls.X25519, tls.CurveP256}},
		{in: "*X25519MLKEM768:X25519", want: []tls.CurveID{tls.X25519MLKEM768, tls.X25519}},
		{in: "?brainpoolP256r1:P-256", want: []tls.CurveID{tls.CurveP256}},

		{in: "nope", wantErr: `unknown curve "nope" (accepted: prime256v1, secp256r1, P-256, secp384r1`},
		{in: "P-256:brainpoolP256r1", wantErr: `unknown curve "brainpoolP256r1"`},
		{in: "P256", wantErr: `unknown curve "P256"`},
		{in: "", wantErr: "no curve in"},
		{in: ":", wantErr: "no curve in"},
		{in: "?nope", wantErr: "no curve in"},
	}
	for _, tc := range tests {
		got, err := parseCurves(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: got %v, %v; want an error with %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// TestCurveNamesImplemented: every group named is one crypto/tls
// implements (a handshake with it alone succeeds is left to the e2e tests;
// here, its name must be known to crypto/tls's String).
func TestCurveNamesImplemented(t *testing.T) {
	for _, c := range curveNames {
		if strings.HasPrefix(c.id.String(), "CurveID(") {
			t.Errorf("%v (%s) is unknown to crypto/tls", uint16(c.id), c.names[0])
		}
		if curveName(c.id) != c.names[0] {
			t.Errorf("curveName(%v) = %s", c.id, curveName(c.id))
		}
	}
}

func FuzzParseCurves(f *testing.F) {
	for _, s := range []string{"prime256v1", "X25519:P-256:secp384r1", "?x:*X25519MLKEM768", "nope", ":,", "P-521,p-521"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := parseCurves(s)
		if err != nil {
			if ids != nil {
				t.Fatal("curves with an error")
			}
			return
		}
		if len(ids) == 0 {
			t.Fatal("no curve and no error")
		}
		var names []string
		seen := map[tls.CurveID]bool{}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("%v twice", id)
			}
			seen[id] = true
			names = append(names, curveName(id))
		}
		// The result, written out in OpenSSL's names, reads back the same.
		again, err := parseCurves(strings.Join(names, ":"))
		if err != nil || !slices.Equal(again, ids) {
			t.Fatalf("%q gave %v; %v reads back as %v, %v", s, ids, names, again, err)
		}
	})
}
