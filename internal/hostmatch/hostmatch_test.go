package hostmatch

import "testing"

func TestList(t *testing.T) {
	l, err := Compile("tcp_hosts", []string{`^example\.com:443$`, `\.internal:`})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		forms []string
		want  bool
	}{
		{[]string{"example.com:443"}, true},
		{[]string{"EXAMPLE.com:443"}, true},
		{[]string{"example.com:80"}, false},
		{[]string{"", "db.internal:5432"}, true},
		{[]string{"10.0.0.1:443", "example.com:443"}, true},
		{nil, false},
	}
	for _, tt := range tests {
		if got := l.Match(tt.forms...); got != tt.want {
			t.Errorf("Match(%q) = %v, want %v", tt.forms, got, tt.want)
		}
	}
	if (List{}).Match("anything:1") {
		t.Error("an empty list matched")
	}
	if _, err := Compile("ignore_hosts", []string{"("}); err == nil {
		t.Error("a bad pattern compiled")
	}
}
