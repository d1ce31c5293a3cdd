package benchkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ErrNoModule is returned by ModuleRoot when no directory from dir up holds
// a go.mod; callers add which flag gives a prebuilt binary instead.
var ErrNoModule = errors.New("not inside a Go module")

// ModuleRoot returns the nearest directory from dir upwards that holds a
// go.mod.
func ModuleRoot(dir string) (string, error) {
	for d := filepath.Clean(dir); ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", ErrNoModule
		}
		d = parent
	}
}

// BuildTool runs `go build -o outDir/name ./cmd/name` in root (the module
// root; "" is the working directory) and returns the binary's path. The
// error carries the compiler's output.
func BuildTool(ctx context.Context, root, outDir, name string) (string, error) {
	bin := filepath.Join(outDir, name)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/"+name)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/%s: %w\n%s", name, err, out)
	}
	return bin, nil
}
