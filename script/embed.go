package script

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// pyFiles is the Python side: the host entry point and the mitmproxy (and
// 0.18-era netlib) packages scripts import.
//
//go:embed py/*.py py/mitmproxy/*.py py/mitmproxy/*/*.py py/mitmproxy/*/*/*.py py/netlib/*.py py/netlib/*/*.py
var pyFiles embed.FS

// hostScript is the entry point inside the extracted tree.
const hostScript = "mitmgo_host.py"

var (
	pyHashOnce sync.Once
	pyHash     string
	pyList     []string
)

// embeddedFiles lists the embedded Python files (slash paths under py/) and
// returns a hash of their names and contents.
func embeddedFiles() ([]string, string) {
	pyHashOnce.Do(func() {
		h := sha256.New()
		_ = fs.WalkDir(pyFiles, "py", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			pyList = append(pyList, p)
			return nil
		})
		sort.Strings(pyList)
		for _, p := range pyList {
			data, _ := pyFiles.ReadFile(p)
			fmt.Fprintf(h, "%s\x00%d\x00", p, len(data))
			h.Write(data)
		}
		pyHash = hex.EncodeToString(h.Sum(nil))[:16]
	})
	return pyList, pyHash
}

// extractPython makes sure the embedded Python tree exists under base (a
// private directory) and returns its path. The tree's name carries a hash of
// its contents, so a directory that exists is complete and current: it is
// written under a temporary name and renamed into place.
func extractPython(base string) (string, error) {
	files, hash := embeddedFiles()
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", fmt.Errorf("creating %s: %w", base, err)
	}
	dst := filepath.Join(base, "python-"+hash)
	if st, err := os.Stat(filepath.Join(dst, hostScript)); err == nil && st.Mode().IsRegular() {
		return dst, nil
	}
	tmp, err := os.MkdirTemp(base, "tmp-")
	if err != nil {
		return "", fmt.Errorf("extracting the Python script host: %w", err)
	}
	defer os.RemoveAll(tmp)
	for _, p := range files {
		rel := strings.TrimPrefix(p, "py/")
		data, err := pyFiles.ReadFile(p)
		if err != nil {
			return "", err
		}
		target := filepath.Join(tmp, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
			return "", fmt.Errorf("extracting the Python script host: %w", err)
		}
		if err := os.WriteFile(target, data, 0o600); err != nil {
			return "", fmt.Errorf("extracting the Python script host: %w", err)
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		// Another mitmgo may have won the race; its tree is as good as ours.
		if _, serr := os.Stat(filepath.Join(dst, hostScript)); serr == nil {
			return dst, nil
		}
		return "", fmt.Errorf("extracting the Python script host: %w", err)
	}
	removeStale(base, dst)
	return dst, nil
}

// staleAfter is how old the tree of another mitmgo version must be before
// it is removed: a running mitmgo of that version may still need it.
const staleAfter = 30 * 24 * time.Hour

func removeStale(base, keep string) {
	old, _ := filepath.Glob(filepath.Join(base, "python-*"))
	for _, d := range old {
		if d == keep {
			continue
		}
		if st, err := os.Stat(d); err == nil && time.Since(st.ModTime()) > staleAfter {
			os.RemoveAll(d)
		}
	}
}

// defaultCacheBase is where the Python tree goes unless Config.CacheDir says
// otherwise: the user's cache directory, which only they can write.
func defaultCacheBase() (string, bool) {
	if d, err := os.UserCacheDir(); err == nil && d != "" {
		return filepath.Join(d, "mitmgo"), true
	}
	return "", false
}
