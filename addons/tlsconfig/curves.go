package tlsconfig

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// curveNames maps the OpenSSL names of the key exchange groups Go
// implements (lower-cased: OpenSSL matches the NIST and its own aliases
// case-insensitively, and nobody is helped by "x25519" failing where
// "X25519" works) to their IDs. Each group has its OpenSSL short name
// first ("prime256v1" is what `openssl ecparam -list_curves` prints and
// what mitmproxy's documentation suggests), then its aliases.
var curveNames = []struct {
	id    tls.CurveID
	names []string
}{
	{tls.CurveP256, []string{"prime256v1", "secp256r1", "P-256"}},
	{tls.CurveP384, []string{"secp384r1", "P-384"}},
	{tls.CurveP521, []string{"secp521r1", "P-521"}},
	{tls.X25519, []string{"X25519"}},
	// The hybrid post-quantum groups, by their OpenSSL 3.5 names.
	{tls.X25519MLKEM768, []string{"X25519MLKEM768"}},
	{tls.SecP256r1MLKEM768, []string{"SecP256r1MLKEM768"}},
	{tls.SecP384r1MLKEM1024, []string{"SecP384r1MLKEM1024"}},
}

// curveByName is curveNames indexed by the lower-cased name.
var curveByName = func() map[string]tls.CurveID {
	m := map[string]tls.CurveID{}
	for _, c := range curveNames {
		for _, n := range c.names {
			m[strings.ToLower(n)] = c.id
		}
	}
	return m
}()

// acceptedCurves lists the names for error messages.
func acceptedCurves() string {
	var all []string
	for _, c := range curveNames {
		all = append(all, c.names...)
	}
	return strings.Join(all, ", ")
}

// curveName is the OpenSSL name of a group Go implements.
func curveName(id tls.CurveID) string {
	for _, c := range curveNames {
		if c.id == id {
			return c.names[0]
		}
	}
	return id.String()
}

// parseCurves reads tls_ecdh_curve_client or tls_ecdh_curve_server: one
// curve name, as mitmproxy takes, or an OpenSSL groups list (names
// separated by colons; commas are taken as well). Of OpenSSL's list syntax,
// a "?" before a name skips it when it is unknown, and "*" (which asks
// OpenSSL to send a key share for the group) is dropped, as crypto/tls
// chooses the key shares it sends itself. It returns the groups for
// tls.Config.CurvePreferences, without repeats, in the order given
// (crypto/tls orders them by its own preference anyway).
func parseCurves(s string) ([]tls.CurveID, error) {
	var out []tls.CurveID
	seen := map[tls.CurveID]bool{}
	for _, name := range strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' }) {
		name = strings.TrimSpace(name)
		optional := false
		for name != "" && (name[0] == '?' || name[0] == '*') {
			optional = optional || name[0] == '?'
			name = name[1:]
		}
		if name == "" {
			continue
		}
		id, ok := curveByName[strings.ToLower(name)]
		switch {
		case !ok && optional:
			continue
		case !ok:
			return nil, fmt.Errorf("unknown curve %q (accepted: %s)", name, acceptedCurves())
		case !seen[id]:
			seen[id] = true
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no curve in %q (accepted: %s)", s, acceptedCurves())
	}
	return out, nil
}
