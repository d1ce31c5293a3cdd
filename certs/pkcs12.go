package certs

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"hash"
	"unicode/utf16"
)

// This file writes PKCS#12 (RFC 7292) files in the shape mitmproxy writes
// them: the bags are not encrypted (there is nothing secret in the
// certificate-only file, and the key file is protected by its 0600 mode like
// the PEM next to it), and the whole is authenticated with an HMAC-SHA-256 MAC
// keyed from no password, 2048 iterations, 8 bytes of salt. That is what
// Python's cryptography produces for mitmproxy with NoEncryption, and what
// the devices of existing mitmproxy users already import.
//
// go-pkcs12 cannot produce this shape: its encoders either encrypt the bags
// or write no MAC at all (which, its documentation warns, a lot of software
// cannot read). Writing what mitmproxy writes leaves no doubt about what
// users' devices accept. So the few structures are written here with
// encoding/asn1; go-pkcs12 still reads PKCS#12 (and checks, in the tests,
// what is written here).

var (
	oidData           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidKeyBag         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 1}
	oidShroudedKeyBag = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidCertBag        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}
	oidX509Cert       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 1}
	oidFriendlyName   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 20}
	oidLocalKeyID     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 21}
	oidSHA256         = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
)

const (
	p12MACIterations = 2048
	p12SaltLen       = 8
)

type p12ContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
}

type p12DigestInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	Digest    []byte
}

type p12MacData struct {
	Mac        p12DigestInfo
	MacSalt    []byte
	Iterations int `asn1:"optional,default:1"`
}

type p12PFX struct {
	Version  int
	AuthSafe p12ContentInfo
	MacData  p12MacData `asn1:"optional"`
}

type p12Attribute struct {
	ID     asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

type p12SafeBag struct {
	ID         asn1.ObjectIdentifier
	Value      asn1.RawValue  `asn1:"tag:0,explicit"`
	Attributes []p12Attribute `asn1:"set,optional"`
}

type p12CertBag struct {
	ID   asn1.ObjectIdentifier
	Data []byte `asn1:"tag:0,explicit"`
}

// p12Bag is one bag to write: its type, its DER value, and the attributes.
type p12Bag struct {
	id           asn1.ObjectIdentifier
	value        []byte
	friendlyName string
	localKeyID   []byte
}

func certBag(certDER []byte, friendlyName string, localKeyID []byte) (p12Bag, error) {
	v, err := asn1.Marshal(p12CertBag{ID: oidX509Cert, Data: certDER})
	if err != nil {
		return p12Bag{}, err
	}
	return p12Bag{id: oidCertBag, value: v, friendlyName: friendlyName, localKeyID: localKeyID}, nil
}

// encodePKCS12 writes a PFX whose authenticated safe holds one unencrypted
// SafeContents per group of bags (mitmproxy puts the certificate and the key
// in separate ones), with a SHA-256 MAC under password.
func encodePKCS12(groups [][]p12Bag, password string) ([]byte, error) {
	var safe []p12ContentInfo
	for _, group := range groups {
		var bags []p12SafeBag
		for _, b := range group {
			sb := p12SafeBag{ID: b.id, Value: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: b.value}}
			if b.friendlyName != "" {
				v, err := asn1.Marshal(asn1.RawValue{Tag: asn1.TagBMPString, Bytes: bmpString(b.friendlyName)})
				if err != nil {
					return nil, err
				}
				sb.Attributes = append(sb.Attributes, p12Attribute{ID: oidFriendlyName, Values: asn1.RawValue{Tag: asn1.TagSet, IsCompound: true, Bytes: v}})
			}
			if b.localKeyID != nil {
				v, err := asn1.Marshal(b.localKeyID)
				if err != nil {
					return nil, err
				}
				sb.Attributes = append(sb.Attributes, p12Attribute{ID: oidLocalKeyID, Values: asn1.RawValue{Tag: asn1.TagSet, IsCompound: true, Bytes: v}})
			}
			bags = append(bags, sb)
		}
		ci, err := dataContentInfo(bags)
		if err != nil {
			return nil, err
		}
		safe = append(safe, ci)
	}
	authSafe, err := asn1.Marshal(safe)
	if err != nil {
		return nil, err
	}

	salt := make([]byte, p12SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	// For no password, mitmproxy's files (cryptography with NoEncryption)
	// use an absent password, zero bytes, rather than the encoded empty
	// string; readers (OpenSSL, Windows, go-pkcs12) try both.
	var pw []byte
	if password != "" {
		pw = bmpPassword(password)
	}
	key := pkcs12KDF(sha256.New, 3, pw, salt, p12MACIterations, sha256.Size)
	mac := hmac.New(sha256.New, key)
	mac.Write(authSafe)

	authSafeCI, err := dataContentInfo(asn1.RawValue{FullBytes: authSafe})
	if err != nil {
		return nil, err
	}
	pfx := p12PFX{
		Version:  3,
		AuthSafe: authSafeCI,
		MacData: p12MacData{
			Mac: p12DigestInfo{
				Algorithm: pkix.AlgorithmIdentifier{Algorithm: oidSHA256, Parameters: asn1.NullRawValue},
				Digest:    mac.Sum(nil),
			},
			MacSalt:    salt,
			Iterations: p12MACIterations,
		},
	}
	der, err := asn1.Marshal(pfx)
	if err != nil {
		return nil, fmt.Errorf("encode PKCS#12: %w", err)
	}
	return der, nil
}

// dataContentInfo wraps the DER of v in a PKCS#7 ContentInfo of type data.
func dataContentInfo(v any) (p12ContentInfo, error) {
	inner, err := asn1.Marshal(v)
	if err != nil {
		return p12ContentInfo{}, err
	}
	octets, err := asn1.Marshal(inner)
	if err != nil {
		return p12ContentInfo{}, err
	}
	return p12ContentInfo{
		ContentType: oidData,
		Content:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: octets},
	}, nil
}

func bmpString(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		b = append(b, byte(c>>8), byte(c))
	}
	return b
}

// bmpPassword is the password as RFC 7292 Appendix B.1 feeds it to the KDF:
// big-endian UTF-16 with a terminating NUL.
func bmpPassword(s string) []byte {
	return append(bmpString(s), 0, 0)
}

// pkcs12KDF is the key derivation of RFC 7292 Appendix B.2, for keys no
// longer than one hash output (all a MAC key needs; the multi-block part of
// the algorithm is left out). id is 3 for MAC keys.
func pkcs12KDF(newHash func() hash.Hash, id byte, password, salt []byte, iterations, size int) []byte {
	h := newHash()
	v := h.BlockSize()
	if size > h.Size() {
		panic("certs: pkcs12KDF: key longer than the hash output")
	}
	// fill repeats s to a multiple of v bytes (nothing for an empty s).
	fill := func(s []byte) []byte {
		if len(s) == 0 {
			return nil
		}
		out := make([]byte, v*((len(s)+v-1)/v))
		for i := range out {
			out[i] = s[i%len(s)]
		}
		return out
	}
	d := make([]byte, v)
	for i := range d {
		d[i] = id
	}
	h.Write(d)
	h.Write(fill(salt))
	h.Write(fill(password))
	a := h.Sum(nil)
	for range iterations - 1 {
		h.Reset()
		h.Write(a)
		a = h.Sum(a[:0])
	}
	return a[:size]
}

// sha1Sum is the localKeyID mitmproxy (through cryptography and OpenSSL)
// puts on the bags of a key and its certificate: the SHA-1 of the
// certificate's DER.
func sha1Sum(b []byte) []byte {
	s := sha1.Sum(b)
	return s[:]
}
