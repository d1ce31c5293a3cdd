package statuscodes

import "testing"

func TestReason(t *testing.T) {
	for code, want := range map[int]string{
		100: "Continue", 103: "Early Hints", 200: "OK", 205: "Reset Content.", 307: "Temporary Redirect",
		308: "", // not in mitmproxy's table
		408: "Request Time-out", 418: "I'm a teapot", 499: "Client Closed Request", 504: "Gateway Time-out",
		510: "Not Extended", 0: "", -1: "", 999: "",
	} {
		if got := Reason(code); got != want {
			t.Errorf("Reason(%d) = %q, want %q", code, got, want)
		}
	}
}
