package flowfile

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/mitmgo/mitmgo/tnetstring"
)

func toJSONable(v any) any {
	switch v := v.(type) {
	case []byte:
		return map[string]any{"$b": base64.StdEncoding.EncodeToString(v)}
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = toJSONable(x)
		}
		return out
	case *tnetstring.Dict:
		m := map[string]any{}
		for _, e := range v.Entries {
			m[e.Key] = toJSONable(e.Value)
		}
		return m
	}
	return v
}

func TestTryDump(t *testing.T) {
	name := os.Getenv("F")
	if name == "" {
		t.Skip()
	}
	f, _ := os.Open(name)
	r := NewReader(f)
	var out []any
	for {
		d, err := r.Next()
		if err != nil {
			if os.Getenv("J") == "" {
				fmt.Println("ERR", err)
			} else if err.Error() != "EOF" {
				out = append(out, map[string]any{"$error": err.Error()})
			}
			break
		}
		if os.Getenv("J") != "" {
			out = append(out, toJSONable(d))
		} else {
			fmt.Println(dumpValue(d, 0))
		}
	}
	if os.Getenv("J") != "" {
		b, _ := json.Marshal(out)
		os.WriteFile(os.Getenv("J"), b, 0o644)
	}
}
