package web

import (
	"strings"
	"testing"
)

func TestParseArgon2(t *testing.T) {
	good := hashArgon2id("pw", []byte("0123456789abcdef"))
	for _, tc := range []struct {
		in, err string
	}{
		{good, ""},
		{strings.Replace(good, "argon2id", "argon2i", 1), ""},
		{strings.Replace(good, "argon2id", "argon2d", 1), "argon2d hashes are not supported"},
		{"$argon2id$garbage", "not a valid argon2 hash"},
		{"$argon2id$v=18$m=1,t=1,p=1$c2FsdA$a2V5", "not a valid argon2 hash"},
		{"$argon2id$v=19$m=1,t=1,p=0$c2FsdA$a2V5", "not a valid argon2 hash"},
		{"$argon2id$v=19$m=1,t=1,p=1,x=2$c2FsdA$a2V5", "not a valid argon2 hash"},
		{"$argon2id$v=19$m=1,t=1,p=1$!!$a2V5", "not a valid argon2 hash"},
		{"$bcrypt$v=19$m=1,t=1,p=1$c2FsdA$a2V5", "not a valid argon2 hash"},
	} {
		h, err := parseArgon2(tc.in)
		if tc.err == "" {
			if err != nil || h == nil {
				t.Errorf("%q: %v", tc.in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
		}
	}
	h, _ := parseArgon2(good)
	if !h.verify("pw") || h.verify("pw2") || h.verify("") {
		t.Error("verify")
	}
}

func FuzzParseArgon2(f *testing.F) {
	f.Add(hashArgon2id("pw", []byte("0123456789abcdef")))
	f.Add("$argon2id$v=19$m=1,t=1,p=1$c2FsdA$a2V5")
	f.Add("$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseArgon2(s)
		if err == nil && (h.memory == 0 || h.time == 0 || h.threads == 0 || len(h.key) == 0) {
			t.Fatalf("accepted %q with zero parameters", s)
		}
	})
}

func TestCutLines(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc", 2, "a\nb"}, {"a\nb\nc", 5, "a\nb\nc"}, {"a", 1, "a"}, {"a\nb", 1, "a"},
	} {
		if got := cutLines(tc.in, tc.n); got != tc.want {
			t.Errorf("cutLines(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
