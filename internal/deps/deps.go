//go:build tools

// Package deps pins the module's third-party dependencies while the packages
// that use them are being written.
package deps

import (
	_ "github.com/andybalholm/brotli"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/spf13/pflag"
	_ "go.uber.org/goleak"
	_ "golang.org/x/crypto/bcrypt"
	_ "golang.org/x/net/http2"
	_ "golang.org/x/sync/singleflight"
	_ "gopkg.in/yaml.v3"
	_ "software.sslmate.com/src/go-pkcs12"
)
