package script

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestShippedExamplesAreTheSeeds: examples/ (where the README points a
// newcomer) holds the same scripts the tests run, so neither drifts.
func TestShippedExamplesAreTheSeeds(t *testing.T) {
	seeds, err := filepath.Glob("testdata/seed/*.py")
	if err != nil || len(seeds) == 0 {
		t.Fatalf("no seed scripts: %v", err)
	}
	for _, seed := range seeds {
		want, _ := os.ReadFile(seed)
		got, err := os.ReadFile(filepath.Join("..", "examples", filepath.Base(seed)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("examples/%s differs from %s (%v)", filepath.Base(seed), seed, err)
		}
	}
}
