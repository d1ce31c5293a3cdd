package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mitmgo/mitmgo/bench/internal/benchkit"
)

// Go peer proxies (-compare-goproxy, -compare-gomitmproxy): intercepting
// proxies written in Go, each a small program in bench/peers/NAME, a Go
// module of its own (so that the main module depends on neither). The
// harness builds them with the go command, which downloads their modules,
// and measures them like mitmproxy: started cold then warm with a confdir of
// their own, where they keep a CA in mitmproxy's file names
// (mitmproxy-ca-cert.pem is what the client trusts), verifying the origin
// against its certificate (-upstream-ca; -ssl-insecure gives -insecure).

// peer is one Go peer proxy.
type peer struct {
	// name is its row in the report and its directory under bench/peers.
	name string
	// module is the peer's dependency, for the error messages.
	module string
	// srcFlag names the harness's flag that gives a checkout of module
	// ("" for none): the way out when the module proxy does not serve it
	// (it serves go-mitmproxy by exact version only).
	srcFlag string
	// noSNI: the peer names its leaves after the client's SNI only, which
	// a client of an IP address does not send, and then cannot verify
	// the origin either: it is told the origin's host for its leaves and
	// does not verify (said on stderr).
	noSNI bool
}

var (
	peerGoproxy     = peer{name: "goproxy", module: "github.com/elazarl/goproxy"}
	peerGomitmproxy = peer{name: "gomitmproxy", module: "github.com/lqqyt2423/go-mitmproxy", srcFlag: "-gomitmproxy-src", noSNI: true}
)

// peerBuildTimeout bounds a peer's build, downloads included.
const peerBuildTimeout = 5 * time.Minute

// buildPeer builds p's program from bench/peers/NAME of the module rooted at
// root into outDir. With src (a checkout of p.module), it builds against
// that with a replace directive in a copy of the peer's go.mod (the go.mod
// in the tree stays as it is). A module that cannot be downloaded gives an
// error that says so.
func buildPeer(ctx context.Context, p peer, root, src, outDir string) (string, error) {
	dir := filepath.Join(root, "bench", "peers", p.name)
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return "", fmt.Errorf("%s: no peer program: %w", p.name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, peerBuildTimeout)
	defer cancel()
	bin := filepath.Join(outDir, p.name+"-peer")
	args := []string{"build", "-o", bin}
	if src != "" {
		modfile, err := peerModfile(ctx, p, dir, src, outDir)
		if err != nil {
			return "", err
		}
		args = append(args, "-modfile="+modfile)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, ".")...)
	cmd.Dir = dir
	// The peer's own module (GOWORK off: a go.work around the tree must
	// not pull it into another). Its committed go.mod and go.sum are
	// complete and stay as they are (readonly); a copy made for a
	// checkout (-modfile) is completed as the modules download.
	mod := "-mod=readonly"
	if src != "" {
		mod = "-mod=mod"
	}
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS="+mod)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", peerBuildError(p, src, string(out), err)
	}
	return bin, nil
}

// peerModfile writes a copy of the peer's go.mod and go.sum into outDir
// with p.module replaced by the checkout at src, for go build -modfile.
func peerModfile(ctx context.Context, p peer, dir, src, outDir string) (string, error) {
	abs, err := filepath.Abs(src)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(abs, "go.mod")); err != nil {
		return "", fmt.Errorf("%s %s: not a checkout of %s: %w", p.srcFlag, src, p.module, err)
	}
	modfile := filepath.Join(outDir, p.name+".go.mod")
	for _, f := range [][2]string{{"go.mod", modfile}, {"go.sum", strings.TrimSuffix(modfile, ".mod") + ".sum"}} {
		data, err := os.ReadFile(filepath.Join(dir, f[0]))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		if err := os.WriteFile(f[1], data, 0o600); err != nil {
			return "", err
		}
	}
	cmd := exec.CommandContext(ctx, "go", "mod", "edit", "-replace="+p.module+"="+abs, modfile)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: go mod edit: %w\n%s", p.name, err, out)
	}
	return modfile, nil
}

// peerBuildError explains a failed build: most often a module that could
// not be downloaded.
func peerBuildError(p peer, src, out string, err error) error {
	download := strings.Contains(out, "proxy.golang.org") || strings.Contains(out, "reading http") ||
		strings.Contains(out, "dial tcp") || strings.Contains(out, "403 Forbidden") || strings.Contains(out, "410 Gone") ||
		strings.Contains(out, "not available") || strings.Contains(out, "unrecognized import path")
	switch {
	case download && p.srcFlag != "" && src == "":
		return fmt.Errorf("-compare-%s: cannot download %s (the Go module proxy serves it by exact version only, and may not serve it at all); clone it (git clone https://%s) and give the checkout with %s DIR:\n%s",
			p.name, p.module, p.module, p.srcFlag, strings.TrimSpace(out))
	case download:
		return fmt.Errorf("-compare-%s: cannot download the modules of bench/peers/%s (%s and its dependencies; is the Go module proxy reachable? see GOPROXY):\n%s",
			p.name, p.name, p.module, strings.TrimSpace(out))
	}
	return fmt.Errorf("-compare-%s: go build in bench/peers/%s: %w\n%s", p.name, p.name, err, strings.TrimSpace(out))
}

// peerTarget is a built Go peer, started on a free port on 127.0.0.1 with
// the confdir it is given.
func peerTarget(p peer, bin, originCert string, insecure bool, timeout time.Duration) target {
	name := p.name
	t := target{name: name, bin: bin, goProxy: true}
	t.startWith = func(ctx context.Context, confdir string, opts procOptions) (*proxyProc, error) {
		port, err := benchkit.FreePort()
		if err != nil {
			return nil, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		args := []string{"-addr", addr, "-confdir", confdir}
		if p.noSNI {
			// The origin is 127.0.0.1 (the client sends no SNI).
			args = append(args, "-no-sni-host", "127.0.0.1")
		}
		if insecure || p.noSNI {
			args = append(args, "-insecure")
		} else {
			args = append(args, "-upstream-ca", originCert)
		}
		cmd := exec.Command(bin, args...)
		cmd.Env = append(append(os.Environ(), "HOME="+confdir), opts.env...)
		return startProcess(ctx, name, cmd, addr, timeout, opts)
	}
	t.start = func(ctx context.Context, confdir string) (*proxyProc, error) {
		return t.startWith(ctx, confdir, procOptions{})
	}
	return t
}

// addPeers builds the peers asked for and returns their targets; a peer
// that cannot be built stops the run.
func addPeers(ctx context.Context, o options, root, tmp, originCert string, stderr io.Writer) ([]target, error) {
	var targets []target
	for _, w := range []struct {
		on  bool
		p   peer
		src string
	}{{o.compareGoproxy, peerGoproxy, ""}, {o.compareGomitm, peerGomitmproxy, o.gomitmSrc}} {
		if !w.on {
			continue
		}
		fmt.Fprintf(stderr, "building bench/peers/%s ...\n", w.p.name)
		bin, err := buildPeer(ctx, w.p, root, w.src, tmp)
		if err != nil {
			return nil, err
		}
		if w.p.noSNI {
			fmt.Fprintf(stderr, "%s: without SNI from the client it names its leaves after 127.0.0.1 (told by the harness) and does not verify the origin's certificate (it cannot without a name)\n", w.p.name)
		}
		targets = append(targets, peerTarget(w.p, bin, originCert, o.sslInsecure, o.startTimeout))
	}
	return targets, nil
}
