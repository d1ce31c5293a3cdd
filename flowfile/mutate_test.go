package flowfile

import (
	"bytes"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/mitmgo/mitmgo/tnetstring"
)

// TestMutatedInputs feeds randomly damaged copies of the test files to the
// reader (a deterministic complement to FuzzReader): nothing may panic, and
// whatever is read must survive writing and reading again unchanged.
func TestMutatedInputs(t *testing.T) {
	requireSharedData(t)
	iterations := 5000
	if testing.Short() || raceEnabled {
		iterations = 500
	}
	var seeds [][]byte
	files, _ := filepath.Glob(filepath.Join(sharedData, "*"))
	more, _ := filepath.Glob(filepath.Join(sharedData, "*/*"))
	for _, f := range append(files, more...) {
		if b, err := os.ReadFile(f); err == nil && len(b) < 70000 {
			seeds = append(seeds, b)
		}
	}
	rng := rand.New(rand.NewSource(1))
	for range iterations {
		data := append([]byte{}, seeds[rng.Intn(len(seeds))]...)
		for k := rng.Intn(4) + 1; k > 0; k-- {
			if len(data) == 0 {
				break
			}
			i := rng.Intn(len(data))
			switch rng.Intn(5) {
			case 0:
				data[i] = byte(rng.Intn(256))
			case 1:
				data = data[:i]
			case 2:
				data = append(data[:i], data[min(len(data), i+rng.Intn(50)):]...)
			case 3:
				data[i] = "0123456789:,;#^!~]}{\"["[rng.Intn(22)]
			case 4:
				j := rng.Intn(len(data))
				data = append(data[:i], append(append([]byte{}, data[j:min(len(data), j+rng.Intn(200))]...), data[i:]...)...)
			}
		}
		r := NewReader(bytes.NewReader(data))
		var flows []*tnetstring.Dict
		for n := 0; n < 1000; n++ {
			d, err := r.Next()
			if err != nil {
				break
			}
			flows = append(flows, d)
		}
		var buf bytes.Buffer
		w := NewWriter(&buf, 21)
		for _, d := range flows {
			if err := w.Write(d); err != nil {
				t.Fatalf("write: %v", err)
			}
			_ = NewWriter(io.Discard, 17).Write(d)
			hw := NewHARWriter(io.Discard)
			_ = hw.Write(d)
			_ = hw.Close()
		}
		back, err := ReadAll(&buf)
		if err != nil || len(back) != len(flows) {
			t.Fatalf("input %q: re-read: %v (%d vs %d)", data, err, len(back), len(flows))
		}
		for i := range back {
			if !tnetstring.Equal(back[i], flows[i]) {
				t.Fatalf("input %q: not stable: %s", data, firstDiff(dumpValue(back[i], 0), dumpValue(flows[i], 0)))
			}
		}
		v, _, err := tnetstring.Unmarshal(data)
		if err == nil {
			b, err := tnetstring.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			v2, _, err := tnetstring.Unmarshal(b)
			if err != nil || !tnetstring.Equal(v, v2) {
				t.Fatal("tnetstring round trip")
			}
		}
	}
}
