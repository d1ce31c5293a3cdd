package flowfile

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/mitmgo/mitmgo/tnetstring"
)

// TestHARCookies: the HAR export parses Cookie and Set-Cookie headers as
// mitmproxy's savehar does (internal/cookies): attributes written without
// "=" are None, so a flag-style Domain or SameSite is null, and so is the
// value of a cookie without "=".
func TestHARCookies(t *testing.T) {
	f := smallFlow(0)
	f.Dict("request").Set("headers", []any{
		[]any{[]byte("Host"), []byte("example.com")},
		[]any{[]byte("Cookie"), []byte(`a=b; c="q\"x"; d`)},
	})
	f.Dict("response").Set("headers", []any{
		[]any{[]byte("Set-Cookie"), []byte("id=1; Path=/x; HttpOnly; Domain; expires=Wed, 21 Oct 2015 07:28:00 GMT, two=2; SameSite=Lax")},
		[]any{[]byte("set-cookie"), []byte("noval; Secure; SameSite")},
	})
	var buf bytes.Buffer
	if err := WriteHAR(&buf, []*tnetstring.Dict{f}); err != nil {
		t.Fatal(err)
	}
	var har struct {
		Log struct {
			Entries []struct {
				Request  struct{ Cookies []map[string]any }
				Response struct{ Cookies []map[string]any }
			}
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &har); err != nil {
		t.Fatal(err)
	}
	e := har.Log.Entries[0]
	wantReq := []map[string]any{{"name": "a", "value": "b"}, {"name": "c", "value": `q"x`}, {"name": "d", "value": ""}}
	if !reflect.DeepEqual(e.Request.Cookies, wantReq) {
		t.Errorf("request cookies = %v, want %v", e.Request.Cookies, wantReq)
	}
	wantResp := []map[string]any{
		{"name": "id", "value": "1", "path": "/x", "domain": nil, "httpOnly": true, "secure": false},
		{"name": "two", "value": "2", "path": "/", "domain": "", "httpOnly": false, "secure": false, "sameSite": "Lax"},
		{"name": "noval", "value": nil, "path": "/", "domain": "", "httpOnly": false, "secure": true, "sameSite": nil},
	}
	if !reflect.DeepEqual(e.Response.Cookies, wantResp) {
		t.Errorf("response cookies =\n%v\nwant\n%v", e.Response.Cookies, wantResp)
	}
}
