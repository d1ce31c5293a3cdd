package proxyauth

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Htpasswd is a parsed Apache htpasswd file. It supports bcrypt ($2y$,
// $2b$, $2a$), {SHA} and APR1 ($apr1$, Apache's MD5-crypt) entries;
// mitmproxy supports the first two. Other formats (crypt, plain text) are
// refused when the file is parsed.
type Htpasswd struct {
	users map[string]string
}

// ParseHtpasswd parses the contents of an htpasswd file: "user:hash" lines;
// blank lines and lines starting with "#" are skipped.
func ParseHtpasswd(content string) (*Htpasswd, error) {
	h := &Htpasswd{users: map[string]string{}}
	for _, line := range splitLines(content) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("Malformed htpasswd line: %q", line)
		}
		if !strings.HasPrefix(hash, "{SHA}") && !isBcrypt(hash) && !strings.HasPrefix(hash, apr1Magic) {
			return nil, fmt.Errorf("Unsupported htpasswd format for user %q", user)
		}
		h.users[user] = hash
	}
	return h, nil
}

// LoadHtpasswd reads and parses an htpasswd file.
func LoadHtpasswd(path string) (*Htpasswd, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseHtpasswd(string(b))
}

func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
}

func isBcrypt(hash string) bool {
	return strings.HasPrefix(hash, "$2y$") || strings.HasPrefix(hash, "$2b$") || strings.HasPrefix(hash, "$2a$")
}

// Check reports whether password is user's password.
func (h *Htpasswd) Check(user, password string) bool {
	hash, ok := h.users[user]
	if !ok {
		return false
	}
	// Fields after the hash (htpasswd files may carry comments) are
	// ignored.
	hash, _, _ = strings.Cut(hash, ":")
	switch {
	case strings.HasPrefix(hash, "{SHA}"):
		sum := sha1.Sum([]byte(password))
		return subtle.ConstantTimeCompare([]byte(hash[5:]), []byte(base64.StdEncoding.EncodeToString(sum[:]))) == 1
	case strings.HasPrefix(hash, apr1Magic):
		rest := hash[len(apr1Magic):]
		salt, _, ok := strings.Cut(rest, "$")
		if !ok {
			return false
		}
		return subtle.ConstantTimeCompare([]byte(hash), []byte(APR1(password, salt))) == 1
	default:
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	}
}

const apr1Magic = "$apr1$"

// itoa64 is crypt's base-64 alphabet.
const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// APR1 computes Apache's "$apr1$" password hash: Poul-Henning Kamp's
// MD5-crypt with the magic string "$apr1$". Only the first 8 bytes of salt
// are used.
func APR1(password, salt string) string {
	if len(salt) > 8 {
		salt = salt[:8]
	}
	pw := []byte(password)

	// The "alternate" sum: password, salt, password.
	alt := md5.New()
	alt.Write(pw)
	alt.Write([]byte(salt))
	alt.Write(pw)
	altSum := alt.Sum(nil)

	ctx := md5.New()
	ctx.Write(pw)
	ctx.Write([]byte(apr1Magic))
	ctx.Write([]byte(salt))
	for n := len(pw); n > 0; n -= 16 {
		ctx.Write(altSum[:min(n, 16)])
	}
	// For each bit of the password length, low bit first: a NUL byte for
	// a one, the first password byte for a zero.
	for n := len(pw); n > 0; n >>= 1 {
		if n&1 == 1 {
			ctx.Write([]byte{0})
		} else {
			ctx.Write(pw[:1])
		}
	}
	final := ctx.Sum(nil)

	// 1000 rounds to slow down brute force.
	for i := 0; i < 1000; i++ {
		r := md5.New()
		if i&1 == 1 {
			r.Write(pw)
		} else {
			r.Write(final)
		}
		if i%3 != 0 {
			r.Write([]byte(salt))
		}
		if i%7 != 0 {
			r.Write(pw)
		}
		if i&1 == 1 {
			r.Write(final)
		} else {
			r.Write(pw)
		}
		final = r.Sum(nil)
	}

	var b strings.Builder
	b.WriteString(apr1Magic)
	b.WriteString(salt)
	b.WriteByte('$')
	to64 := func(v uint32, n int) {
		for ; n > 0; n-- {
			b.WriteByte(itoa64[v&0x3f])
			v >>= 6
		}
	}
	for _, g := range [][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}} {
		to64(uint32(final[g[0]])<<16|uint32(final[g[1]])<<8|uint32(final[g[2]]), 4)
	}
	to64(uint32(final[11]), 2)
	return b.String()
}
