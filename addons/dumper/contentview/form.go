package contentview

import (
	"errors"
	"strings"

	"github.com/mitmgo/mitmgo/internal/human"
)

// queryView shows a request's query string when it has no body.
type queryView struct{}

func (queryView) Name() string   { return "Query" }
func (queryView) Syntax() Syntax { return SyntaxYAML }

func (queryView) RenderPriority(data []byte, md *Metadata) float64 {
	if len(data) == 0 && md.Request != nil && len(md.Request.Query()) > 0 {
		return 0.3
	}
	return 0
}

func (queryView) Prettify(_ []byte, md *Metadata) (string, error) {
	if md.Request == nil {
		return "", errors.New("not an HTTP request")
	}
	var pairs [][2]string
	for _, p := range md.Request.Query() {
		pairs = append(pairs, [2]string{p.Key, p.Value})
	}
	return yamlDump(mergeRepeatedKeys(pairs)), nil
}

// urlencodedView shows an application/x-www-form-urlencoded body.
type urlencodedView struct{}

func (urlencodedView) Name() string   { return "URL-encoded" }
func (urlencodedView) Syntax() Syntax { return SyntaxYAML }

func (urlencodedView) RenderPriority(data []byte, md *Metadata) float64 {
	if len(data) > 0 && md.ContentType == "application/x-www-form-urlencoded" {
		return 1
	}
	return 0
}

func (urlencodedView) Prettify(data []byte, _ *Metadata) (string, error) {
	var pairs [][2]string
	for _, field := range strings.Split(string(data), "&") {
		if field == "" {
			continue
		}
		k, v, _ := strings.Cut(field, "=")
		pairs = append(pairs, [2]string{
			human.BytesToEscapedStr(unquotePlus(k), false),
			human.BytesToEscapedStr(unquotePlus(v), false),
		})
	}
	return yamlDump(mergeRepeatedKeys(pairs)), nil
}

// unquotePlus decodes a form field to bytes as Python's parse_qsl does:
// "+" is a space, valid %XX escapes are decoded, anything else is kept.
func unquotePlus(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
