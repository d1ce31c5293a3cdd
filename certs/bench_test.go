package certs

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// The numbers quoted in the KeyType documentation come from
//
//	go test -run '^$' -bench . -benchtime 2s ./certs/

// quiet keeps the debug log of every minted leaf out of the measurements.
var quiet = slog.New(slog.DiscardHandler)

// ecCAStore opens a store on a freshly made ECDSA P-256 CA.
func ecCAStore(b *testing.B, cfg Config) *Store {
	key := newECKey(b)
	ca := testCert(b, caTemplate("bench EC CA"), key, nil, nil)
	keyPEM, _ := marshalKeyPEM(key)
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "mitmproxy-ca.pem"), append(keyPEM, certPEM(ca)...), 0o600)
	cfg.ConfDir = dir
	cfg.Logger = quiet
	s, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkLeafMint measures minting without the cache: one CA signature
// plus building and parsing the certificate.
func BenchmarkLeafMint(b *testing.B) {
	for _, tc := range []struct {
		name string
		ecCA bool
		key  KeyType
	}{
		{"ca=rsa2048/leaf=ecdsa", false, KeyECDSA},
		{"ca=rsa2048/leaf=rsa2048", false, KeyRSA},
		{"ca=ecdsa/leaf=ecdsa", true, KeyECDSA},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := Config{CacheSize: -1, LeafKey: tc.key, Logger: quiet}
			var s *Store
			if tc.ecCA {
				s = ecCAStore(b, cfg)
			} else {
				s = fixtureStore(b, cfg)
			}
			spec := LeafSpec{Names: []string{"www.example.com", "example.com"}}
			for b.Loop() {
				if _, err := s.Leaf(spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLeafCached measures a cache hit, the common case.
func BenchmarkLeafCached(b *testing.B) {
	s := fixtureStore(b, Config{Logger: quiet})
	spec := LeafSpec{Names: []string{"www.example.com"}}
	s.Leaf(spec)
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Leaf(spec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Leaf(spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("parallel-1000-hosts", func(b *testing.B) {
		specs := make([]LeafSpec, 1000)
		for i := range specs {
			specs[i] = LeafSpec{Names: []string{fmt.Sprintf("h%d.example.com", i)}}
			s.Leaf(specs[i])
		}
		var n atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Leaf(specs[n.Add(1)%1000]); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkLeafKeySign measures one signature with the leaf key: the cost
// the proxy pays in every full handshake.
func BenchmarkLeafKeySign(b *testing.B) {
	s := fixtureStore(b, Config{Logger: quiet})
	digest := sha256.Sum256([]byte("handshake transcript"))
	for _, kt := range []KeyType{KeyECDSA, KeyRSA} {
		k, err := s.keyFor(kt)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(kt.String(), func(b *testing.B) {
			for b.Loop() {
				if _, err := k.key.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHandshake measures a full TLS 1.3 handshake, both ends in this
// process over net.Pipe, the client verifying the chain against the CA.
func BenchmarkHandshake(b *testing.B) {
	s := fixtureStore(b, Config{Logger: quiet})
	run := func(b *testing.B, srvConf *tls.Config) {
		cliConf := &tls.Config{RootCAs: caPool(s), ServerName: "www.example.com"}
		for b.Loop() {
			cc, sc := net.Pipe()
			errc := make(chan error, 1)
			go func() { errc <- tls.Server(sc, srvConf).Handshake() }()
			if err := tls.Client(cc, cliConf).Handshake(); err != nil {
				b.Fatal(err)
			}
			if err := <-errc; err != nil {
				b.Fatal(err)
			}
			cc.Close()
			sc.Close()
		}
	}
	for _, kt := range []KeyType{KeyECDSA, KeyRSA} {
		leaf, err := s.Leaf(LeafSpec{Names: []string{"www.example.com"}, KeyType: kt})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(kt.String(), func(b *testing.B) {
			run(b, &tls.Config{Certificates: []tls.Certificate{*leaf}})
		})
	}
	b.Run("auto/GetCertificateFor", func(b *testing.B) {
		run(b, &tls.Config{GetCertificate: s.GetCertificateFor("", nil)})
	})
}
