package origdst

import (
	"net/netip"
	"strings"
	"syscall"
	"testing"
)

func TestParseSockaddr(t *testing.T) {
	in4 := []byte{syscall.AF_INET, 0, 0x1f, 0x90, 10, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0}
	in6 := make([]byte, 28)
	in6[0] = syscall.AF_INET6
	in6[2], in6[3] = 0x01, 0xbb
	copy(in6[8:24], netip.MustParseAddr("2001:db8::5").AsSlice())
	for _, tc := range []struct {
		name string
		in   []byte
		want string
		err  string
	}{
		{"ipv4", in4, "10.0.0.7:8080", ""},
		{"ipv6", in6, "[2001:db8::5]:443", ""},
		{"empty", nil, "", "short socket address"},
		{"ipv4 cut", in4[:6], "", "unexpected socket address (family 2, 6 bytes)"},
		{"unknown family", []byte{1, 0, 0, 0, 0, 0, 0, 0}, "", "family 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSockaddr(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got.String() != tc.want {
				t.Fatalf("got %v, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestExplain(t *testing.T) {
	for errno, want := range map[syscall.Errno]string{
		syscall.ENOENT:      "was it redirected",
		syscall.ENOPROTOOPT: "nf_conntrack",
		syscall.EBADF:       "getsockopt(SO_ORIGINAL_DST)",
	} {
		if err := explain(errno); !strings.Contains(err.Error(), want) {
			t.Errorf("%v: %v", errno, err)
		}
	}
}
