package flowfile

import (
	"bytes"
	"os"
	"testing"
)

func TestTryHAR(t *testing.T) {
	name := os.Getenv("H")
	if name == "" {
		t.Skip()
	}
	f, _ := os.Open(name)
	flows, err := ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	hw := NewHARWriter(&buf)
	hw.Creator = HARCreator{Name: "mitmproxy", Version: "1.2.3"}
	for _, fl := range flows {
		hw.Write(fl)
	}
	hw.Close()
	os.WriteFile(os.Getenv("O"), buf.Bytes(), 0o644)
}
