package tty

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// openPTY returns the terminal side of a new pseudo-terminal, w columns
// wide.
func openPTY(t *testing.T, w int) *os.File {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Skipf("unlockpt: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Skipf("ptsname: %v", e)
	}
	pts, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pts: %v", err)
	}
	t.Cleanup(func() { pts.Close() })
	resize(t, pts, w)
	return pts
}

func resize(t *testing.T, f *os.File, w int) {
	t.Helper()
	ws := struct{ Row, Col, X, Y uint16 }{Row: 24, Col: uint16(w)}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TIOCSWINSZ, uintptr(unsafe.Pointer(&ws))); e != 0 {
		t.Fatalf("TIOCSWINSZ: %v", e)
	}
}

func TestIsTerminal(t *testing.T) {
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	file, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, tt := range []struct {
		name string
		w    any
		want bool
	}{
		// /dev/null is a character device, and was once taken for a
		// terminal: colour codes went into redirected output.
		{"/dev/null", devNull, false},
		{"file", file, false},
		{"pipe", w, false},
		{"buffer", &bytes.Buffer{}, false},
		{"pseudo-terminal", openPTY(t, 100), true},
	} {
		wr, _ := tt.w.(interface{ Write([]byte) (int, error) })
		if got := IsTerminal(wr); got != tt.want {
			t.Errorf("%s: IsTerminal = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestWidth(t *testing.T) {
	t.Setenv("COLUMNS", "")
	pts := openPTY(t, 132)
	width := Width(pts)
	if got := width(); got != 132 {
		t.Errorf("width = %d, want the terminal's 132", got)
	}
	// Resized: the old width holds for up to widthTTL, then the new one.
	resize(t, pts, 90)
	if got := width(); got != 132 {
		t.Errorf("width right after a resize = %d, want the cached 132", got)
	}
	time.Sleep(widthTTL + 50*time.Millisecond)
	if got := width(); got != 90 {
		t.Errorf("width after %v = %d, want 90", widthTTL, got)
	}
	if got := Width(&bytes.Buffer{})(); got != 80 {
		t.Errorf("no terminal: width = %d, want 80", got)
	}
	t.Setenv("COLUMNS", "200")
	if got := Width(pts)(); got != 200 {
		t.Errorf("COLUMNS=200: width = %d", got)
	}
}
