package certs

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/asn1"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

// p12Shape is the structure of a PKCS#12 file without its variable bytes.
type p12Shape struct {
	macAlg   string
	iter     int
	saltLen  int
	contents [][]string // per SafeContents, per bag: its type and attributes
	certs    [][]byte   // the certificates found in cert bags
}

func (s p12Shape) String() string {
	return fmt.Sprintf("mac=%s iter=%d salt=%d contents=%v", s.macAlg, s.iter, s.saltLen, s.contents)
}

// p12ShapeOf walks an unencrypted PKCS#12 file and checks its MAC, keyed
// from no password as mitmproxy's files are.
func p12ShapeOf(t *testing.T, der []byte) p12Shape {
	t.Helper()
	var pfx p12PFX
	if rest, err := asn1.Unmarshal(der, &pfx); err != nil || len(rest) > 0 {
		t.Fatalf("PFX: %v", err)
	}
	var authSafe []byte
	if _, err := asn1.Unmarshal(pfx.AuthSafe.Content.Bytes, &authSafe); err != nil {
		t.Fatal(err)
	}
	md := pfx.MacData
	key := pkcs12KDF(sha256.New, 3, nil, md.MacSalt, md.Iterations, 32)
	m := hmac.New(sha256.New, key)
	m.Write(authSafe)
	if !hmac.Equal(m.Sum(nil), md.Mac.Digest) {
		t.Error("MAC does not verify")
	}
	shape := p12Shape{macAlg: md.Mac.Algorithm.Algorithm.String(), iter: md.Iterations, saltLen: len(md.MacSalt)}

	var cis []p12ContentInfo
	if _, err := asn1.Unmarshal(authSafe, &cis); err != nil {
		t.Fatal(err)
	}
	for _, ci := range cis {
		if !ci.ContentType.Equal(oidData) {
			t.Fatalf("SafeContents of type %v, want data", ci.ContentType)
		}
		var sc []byte
		if _, err := asn1.Unmarshal(ci.Content.Bytes, &sc); err != nil {
			t.Fatal(err)
		}
		var bags []p12SafeBag
		if _, err := asn1.Unmarshal(sc, &bags); err != nil {
			t.Fatal(err)
		}
		var desc []string
		for _, b := range bags {
			d := []string{b.ID.String()}
			for _, a := range b.Attributes {
				v := a.ID.String()
				if a.ID.Equal(oidFriendlyName) {
					var raw asn1.RawValue
					asn1.Unmarshal(a.Values.Bytes, &raw)
					u := make([]uint16, len(raw.Bytes)/2)
					for i := range u {
						u[i] = uint16(raw.Bytes[2*i])<<8 | uint16(raw.Bytes[2*i+1])
					}
					v += "=" + string(utf16.Decode(u))
				}
				if a.ID.Equal(oidLocalKeyID) {
					var id []byte
					asn1.Unmarshal(a.Values.Bytes, &id)
					v += fmt.Sprintf("(%d bytes)", len(id))
				}
				d = append(d, v)
			}
			if b.ID.Equal(oidCertBag) {
				var cb p12CertBag
				if _, err := asn1.Unmarshal(b.Value.Bytes, &cb); err != nil {
					t.Fatal(err)
				}
				shape.certs = append(shape.certs, cb.Data)
			}
			desc = append(desc, strings.Join(d, " "))
		}
		shape.contents = append(shape.contents, desc)
	}
	return shape
}

// TestPKCS12KDFAgainstMitmproxy checks the RFC 7292 KDF and the MAC against
// a file another implementation (cryptography/OpenSSL) wrote.
func TestPKCS12KDFAgainstMitmproxy(t *testing.T) {
	der, err := os.ReadFile(filepath.Join(fixtureDir, "mitmproxy-ca-cert.p12"))
	if err != nil {
		t.Fatal(err)
	}
	shape := p12ShapeOf(t, der) // fails if the MAC does not verify
	if shape.macAlg != oidSHA256.String() || shape.iter != 2048 || shape.saltLen != 8 {
		t.Errorf("unexpected fixture: %s", shape)
	}
}
