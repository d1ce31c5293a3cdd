package flowfile

import (
	"fmt"
	"strings"
	"testing"
)

// TestHARReason: the HAR importer takes the reason from mitmproxy's status
// table (flow.ReasonPhrase), not from the file's statusText; a code the
// table lacks, such as 308, gets an empty reason, as in mitmproxy.
func TestHARReason(t *testing.T) {
	tests := []struct {
		status int
		want   string
	}{
		{200, "OK"}, {404, "Not Found"}, {408, "Request Time-out"}, {308, ""}, {799, ""}, {0, ""}, {100000, ""},
	}
	for _, tt := range tests {
		har := fmt.Sprintf(`{"log": {"entries": [{"startedDateTime": "2023-07-15T13:37:26.093Z", "time": 1,
			"request": {"method": "GET", "url": "http://x/", "headers": [], "httpVersion": "HTTP/1.1"},
			"response": {"status": %d, "statusText": "From The File", "httpVersion": "HTTP/1.1", "headers": [], "content": {"text": ""}}}]}}`, tt.status)
		flows, err := ReadAll(strings.NewReader(har))
		if err != nil {
			t.Fatalf("status %d: %v", tt.status, err)
		}
		if len(flows) != 1 {
			t.Fatalf("status %d: %d flows", tt.status, len(flows))
		}
		if got := string(flows[0].Dict("response").Bytes("reason")); got != tt.want {
			t.Errorf("status %d: reason %q, want %q", tt.status, got, tt.want)
		}
	}
}
