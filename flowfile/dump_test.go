package flowfile

import (
	"crypto/sha256"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/mitmgo/mitmgo/internal/pyrepr"
	"github.com/mitmgo/mitmgo/tnetstring"
)

// dumpValue renders a state dict as indented text for golden files: str
// values are JSON-quoted, bytes use Python's repr (long ones are cut and
// summarised by length and SHA-256), floats use Python's repr (so they
// always show a '.', an 'e', inf or nan) and ints are plain.
func dumpValue(v any, indent int) string {
	var sb strings.Builder
	dump(&sb, v, indent)
	return sb.String()
}

const maxDumpBytes = 160

func dump(sb *strings.Builder, v any, indent int) {
	pad := strings.Repeat("  ", indent)
	switch v := v.(type) {
	case nil:
		sb.WriteString("null")
	case bool:
		sb.WriteString(strconv.FormatBool(v))
	case int64:
		sb.WriteString(strconv.FormatInt(v, 10))
	case *big.Int:
		sb.WriteString(v.String())
	case float64:
		sb.Write(tnetstring.AppendFloat(nil, v))
	case string:
		sb.WriteString(strconv.Quote(v))
	case []byte:
		if len(v) > maxDumpBytes {
			sum := sha256.Sum256(v)
			fmt.Fprintf(sb, "%s...(%d bytes, sha256 %x)", pyrepr.Bytes(v[:maxDumpBytes]), len(v), sum[:8])
		} else {
			sb.WriteString(pyrepr.Bytes(v))
		}
	case []any:
		if len(v) == 0 {
			sb.WriteString("[]")
			return
		}
		inline := true
		for _, x := range v {
			switch x.(type) {
			case *tnetstring.Dict:
				inline = false
			case []any:
				if len(v) > 1 {
					inline = false
				}
			}
		}
		if inline {
			sb.WriteString("[")
			for i, x := range v {
				if i > 0 {
					sb.WriteString(", ")
				}
				dump(sb, x, indent)
			}
			sb.WriteString("]")
			return
		}
		sb.WriteString("[\n")
		for _, x := range v {
			sb.WriteString(pad + "  ")
			dump(sb, x, indent+1)
			sb.WriteString("\n")
		}
		sb.WriteString(pad + "]")
	case *tnetstring.Dict:
		if v.Len() == 0 {
			sb.WriteString("{}")
			return
		}
		sb.WriteString("{\n")
		for _, e := range v.Entries {
			sb.WriteString(pad + "  ")
			if e.BytesKey {
				sb.WriteString(pyrepr.Bytes([]byte(e.Key)))
			} else {
				sb.WriteString(strconv.Quote(e.Key))
			}
			sb.WriteString(": ")
			dump(sb, e.Value, indent+1)
			sb.WriteString("\n")
		}
		sb.WriteString(pad + "}")
	default:
		fmt.Fprintf(sb, "%T(%v)", v, v)
	}
}
