package textwrap

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// Wrap follows Python's textwrap.wrap(text) (width 70), checked against
// its output for mitmproxy's help texts and some edge cases
// (testdata/textwrap.json).
func TestWrapMatchesTextwrap(t *testing.T) {
	var cases []struct {
		Text  string   `json:"text"`
		Lines []string `json:"lines"`
	}
	data, err := os.ReadFile("testdata/textwrap.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if got := Wrap(c.Text, 70); !reflect.DeepEqual(got, c.Lines) {
			t.Errorf("Wrap(%q):\n got %q\nwant %q", c.Text, got, c.Lines)
		}
	}
}
