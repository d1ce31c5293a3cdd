package certs

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/pbkdf2"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// Errors that callers may want to tell apart with [errors.Is]. The errors
// returned by this package wrap them together with the name of the file.
var (
	// ErrNoPrivateKey: a file that must hold a private key holds none.
	ErrNoPrivateKey = errors.New("no private key")
	// ErrNoCertificate: a file that must hold a certificate holds none.
	ErrNoCertificate = errors.New("no certificate")
	// ErrKeyMismatch: the private key does not belong to the certificate.
	ErrKeyMismatch = errors.New("private key does not match the certificate")
	// ErrPassphrase: the key is encrypted and the passphrase is missing or wrong.
	ErrPassphrase = errors.New("missing or wrong passphrase for the encrypted private key")
)

// pemBundle is what a PEM file of mitmproxy's kind holds: an optional
// private key and the certificates in file order.
type pemBundle struct {
	key   crypto.Signer // nil if the file has no key
	certs []*x509.Certificate
}

// parsePEMBundle reads every block of data. It accepts private keys in
// PKCS#1 ("RSA PRIVATE KEY", what mitmproxy writes), PKCS#8 ("PRIVATE KEY")
// and SEC 1 ("EC PRIVATE KEY"), encrypted either the legacy OpenSSL way
// (Proc-Type header) or as PKCS#8 ("ENCRYPTED PRIVATE KEY", what OpenSSL 3
// writes by default), as cryptography's load_pem_private_key does for
// mitmproxy. Like mitmproxy, an unencrypted key ignores the
// passphrase. Blocks of other types (DH PARAMETERS, ...) are skipped.
func parsePEMBundle(data []byte, passphrase string) (*pemBundle, error) {
	var b pemBundle
	var encryptedPKCS8 []byte
	sawPEM := false
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		sawPEM = true
		switch block.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("certificate %d: %w", len(b.certs)+1, err)
			}
			b.certs = append(b.certs, c)
		case "RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY":
			if b.key != nil || encryptedPKCS8 != nil {
				continue // mitmproxy, too, uses the first key of a file
			}
			der := block.Bytes
			// Legacy PEM encryption is deprecated as insecure by design,
			// but existing users' files use it and mitmproxy reads it.
			if x509.IsEncryptedPEMBlock(block) {
				if passphrase == "" {
					return nil, ErrPassphrase
				}
				var err error
				der, err = x509.DecryptPEMBlock(block, []byte(passphrase))
				if err != nil {
					return nil, fmt.Errorf("%w: %v", ErrPassphrase, err)
				}
			}
			k, err := parsePrivateKeyDER(block.Type, der)
			if err != nil {
				return nil, err
			}
			b.key = k
		case "ENCRYPTED PRIVATE KEY":
			if b.key != nil || encryptedPKCS8 != nil {
				continue
			}
			if passphrase == "" {
				return nil, ErrPassphrase
			}
			encryptedPKCS8 = block.Bytes
		}
	}
	if !sawPEM {
		return nil, errors.New("no PEM data")
	}
	if encryptedPKCS8 != nil {
		k, err := decryptPKCS8(encryptedPKCS8, b.certs, passphrase)
		if err != nil {
			return nil, err
		}
		b.key = k
	}
	return &b, nil
}

// parsePrivateKeyDER parses an unencrypted key. The PEM type says which
// format to try first; the others are tried too, because files in the wild
// do not always label their blocks right.
func parsePrivateKeyDER(pemType string, der []byte) (crypto.Signer, error) {
	parsers := []func([]byte) (any, error){
		func(b []byte) (any, error) { return x509.ParsePKCS8PrivateKey(b) },
		func(b []byte) (any, error) { return x509.ParsePKCS1PrivateKey(b) },
		func(b []byte) (any, error) { return x509.ParseECPrivateKey(b) },
	}
	switch pemType {
	case "RSA PRIVATE KEY":
		parsers[0], parsers[1] = parsers[1], parsers[0]
	case "EC PRIVATE KEY":
		parsers[0], parsers[2] = parsers[2], parsers[0]
	}
	var firstErr error
	for _, p := range parsers {
		k, err := p(der)
		if err == nil {
			return asSigner(k)
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, fmt.Errorf("parse %s: %w", pemType, firstErr)
}

func asSigner(k any) (crypto.Signer, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		return k.(crypto.Signer), nil
	default:
		return nil, fmt.Errorf("unsupported private key type %T", k)
	}
}

// decryptPKCS8 decrypts an EncryptedPrivateKeyInfo (RFC 5958), which the
// standard library cannot. PBES2 (what OpenSSL 3 writes: PBKDF2 with AES or
// 3DES) is done here. The PKCS#12 PBEs of older files (pbeWithSHAAnd3-
// KeyTripleDES-CBC and the like) are left to go-pkcs12: a PKCS#12 shrouded
// key bag holds exactly this structure, so the key is put in a one-off
// PKCS#12 container, with a certificate because go-pkcs12 wants one.
func decryptPKCS8(der []byte, certs []*x509.Certificate, passphrase string) (crypto.Signer, error) {
	var epki struct {
		Algorithm pkix.AlgorithmIdentifier
		Data      []byte
	}
	if rest, err := asn1.Unmarshal(der, &epki); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("parse ENCRYPTED PRIVATE KEY: %v", err)
	}
	if epki.Algorithm.Algorithm.Equal(oidPBES2) {
		plain, err := decryptPBES2(epki.Algorithm.Parameters.FullBytes, epki.Data, passphrase)
		if err != nil {
			return nil, err
		}
		k, err := x509.ParsePKCS8PrivateKey(plain)
		if err != nil {
			// Garbage that happened to end in valid padding.
			return nil, fmt.Errorf("%w: %v", ErrPassphrase, err)
		}
		return asSigner(k)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("encrypted PKCS#8 key: %w (needed next to the key)", ErrNoCertificate)
	}
	cb, err := certBag(certs[0].Raw, "", nil)
	if err != nil {
		return nil, err
	}
	pfx, err := encodePKCS12([][]p12Bag{{cb, {id: oidShroudedKeyBag, value: der}}}, passphrase)
	if err != nil {
		return nil, err
	}
	key, _, _, err := pkcs12.DecodeChain(pfx, passphrase)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPassphrase, err)
	}
	return asSigner(key)
}

var (
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA224 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
)

const maxKDFIterations = 10_000_000

// decryptPBES2 decrypts data under PBES2 (RFC 8018 §6.2) with PBKDF2 and a
// CBC cipher, the combinations OpenSSL writes.
func decryptPBES2(params, data []byte, passphrase string) ([]byte, error) {
	var p struct {
		KDF, Enc pkix.AlgorithmIdentifier
	}
	if _, err := asn1.Unmarshal(params, &p); err != nil {
		return nil, fmt.Errorf("parse PBES2 parameters: %w", err)
	}
	if !p.KDF.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("unsupported PBES2 key derivation %v", p.KDF.Algorithm)
	}
	var kdf struct {
		Salt       []byte
		Iterations int
		KeyLength  int                      `asn1:"optional"`
		PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
	}
	if _, err := asn1.Unmarshal(p.KDF.Parameters.FullBytes, &kdf); err != nil {
		return nil, fmt.Errorf("parse PBKDF2 parameters: %w", err)
	}
	var newHash func() hash.Hash
	switch prf := kdf.PRF.Algorithm; {
	case len(prf) == 0 || prf.Equal(oidHMACSHA1):
		newHash = sha1.New
	case prf.Equal(oidHMACSHA224):
		newHash = sha256.New224
	case prf.Equal(oidHMACSHA256):
		newHash = sha256.New
	case prf.Equal(oidHMACSHA384):
		newHash = sha512.New384
	case prf.Equal(oidHMACSHA512):
		newHash = sha512.New
	default:
		return nil, fmt.Errorf("unsupported PBKDF2 function %v", prf)
	}
	var keyLen int
	var newCipher func([]byte) (cipher.Block, error)
	switch enc := p.Enc.Algorithm; {
	case enc.Equal(oidAES128CBC):
		keyLen, newCipher = 16, aes.NewCipher
	case enc.Equal(oidAES192CBC):
		keyLen, newCipher = 24, aes.NewCipher
	case enc.Equal(oidAES256CBC):
		keyLen, newCipher = 32, aes.NewCipher
	case enc.Equal(oidDESEDE3CBC):
		keyLen, newCipher = 24, des.NewTripleDESCipher
	default:
		return nil, fmt.Errorf("unsupported PBES2 cipher %v", enc)
	}
	var iv []byte
	if _, err := asn1.Unmarshal(p.Enc.Parameters.FullBytes, &iv); err != nil {
		return nil, fmt.Errorf("parse PBES2 IV: %w", err)
	}
	// OpenSSL writes 2048; a corrupt or hostile file must not keep Open
	// busy for hours.
	if kdf.Iterations < 1 || kdf.Iterations > maxKDFIterations {
		return nil, fmt.Errorf("PBKDF2 iteration count %d out of range", kdf.Iterations)
	}
	if passphrase == "" {
		return nil, ErrPassphrase
	}
	key, err := pbkdf2.Key(newHash, passphrase, kdf.Salt, kdf.Iterations, keyLen)
	if err != nil {
		return nil, fmt.Errorf("PBKDF2: %w", err)
	}
	block, err := newCipher(key)
	if err != nil {
		return nil, err
	}
	bs := block.BlockSize()
	if len(iv) != bs || len(data) == 0 || len(data)%bs != 0 {
		return nil, errors.New("malformed PBES2 ciphertext")
	}
	plain := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, data)
	// PKCS#7 padding; bad padding almost always means a wrong passphrase.
	n := int(plain[len(plain)-1])
	if n == 0 || n > bs {
		return nil, ErrPassphrase
	}
	for _, b := range plain[len(plain)-n:] {
		if int(b) != n {
			return nil, ErrPassphrase
		}
	}
	return plain[:len(plain)-n], nil
}

// publicKeyEqual reports whether the private key k belongs to pub.
func publicKeyEqual(k crypto.Signer, pub crypto.PublicKey) bool {
	p, ok := k.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && p.Equal(pub)
}

// marshalKeyPEM encodes k the way mitmproxy writes its CA key
// ("TraditionalOpenSSL": PKCS#1 for RSA, SEC 1 for EC), falling back to
// PKCS#8 for key types that have no traditional format.
func marshalKeyPEM(k crypto.Signer) ([]byte, error) {
	var block *pem.Block
	switch k := k.(type) {
	case *rsa.PrivateKey:
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return nil, err
		}
		block = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	default:
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, err
		}
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	return pem.EncodeToMemory(block), nil
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
