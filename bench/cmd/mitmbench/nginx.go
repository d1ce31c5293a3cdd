package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mitmgo/mitmgo/bench/internal/benchkit"
)

// nginx as a forward proxy for plain HTTP (-compare-nginx) is the
// practical ceiling for the http scenario: a proxy written in C for speed,
// that parses every request and response and keeps upstream connections
// alive, but neither records flows nor runs addons. It has no CONNECT, so
// the HTTPS scenarios do not measure it. It accepts absolute-form request
// targets, which is what the harness sends to proxies.

// nginxName is its row in the report.
const nginxName = "nginx"

// findNginx looks bin up on PATH; for the default name it also tries
// /usr/sbin/nginx, which is not on every user's PATH.
func findNginx(bin string) (string, error) {
	path, err := exec.LookPath(bin)
	if err == nil {
		return path, nil
	}
	if bin == "nginx" {
		if fi, err2 := os.Stat("/usr/sbin/nginx"); err2 == nil && !fi.IsDir() {
			return "/usr/sbin/nginx", nil
		}
	}
	return "", err
}

// nginxTempModules are the modules whose temporary directories nginx
// creates at start, by the nginx -V option that leaves each out; the
// directive exists only where the module is built in.
var nginxTempModules = []struct{ without, directive string }{
	{"--without-http_fastcgi_module", "fastcgi_temp_path"},
	{"--without-http_uwsgi_module", "uwsgi_temp_path"},
	{"--without-http_scgi_module", "scgi_temp_path"},
}

// nginxBuild returns the configure arguments nginx -V prints, or "" when
// it does not answer (then every module is assumed).
func nginxBuild(ctx context.Context, bin string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "-V").CombinedOutput()
	return string(out)
}

// nginxConfig is the configuration of a forward proxy on 127.0.0.1:port
// for the origin at originAddr, with every file it writes in dir.
// conns sizes worker_connections: every client connection may hold an
// upstream one, plus the idle upstream connections kept alive.
func nginxConfig(dir string, port int, originAddr string, conns int, root bool, build string) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("# written by mitmbench for -compare-nginx")
	line("daemon off;")
	line("master_process on;")
	line("worker_processes auto;")
	if root {
		// Otherwise the workers run as nobody, which may not write dir.
		line("user root;")
	}
	line("error_log %s warn;", filepath.Join(dir, "error.log"))
	line("pid %s;", filepath.Join(dir, "nginx.pid"))
	line("lock_file %s;", filepath.Join(dir, "nginx.lock"))
	line("events { worker_connections %d; }", max(1024, 4*conns+256))
	line("http {")
	line("  access_log off;")
	line("  client_body_temp_path %s;", filepath.Join(dir, "client_body"))
	line("  proxy_temp_path %s;", filepath.Join(dir, "proxy"))
	for _, m := range nginxTempModules {
		if !strings.Contains(build, m.without) {
			line("  %s %s;", m.directive, filepath.Join(dir, strings.TrimSuffix(m.directive, "_temp_path")))
		}
	}
	line("  upstream origin_up {")
	line("    server %s;", originAddr)
	line("    keepalive 64;")
	line("  }")
	line("  server {")
	line("    listen 127.0.0.1:%d;", port)
	line("    location / {")
	line("      proxy_pass http://origin_up;")
	line("      proxy_http_version 1.1;")
	line(`      proxy_set_header Connection "";`)
	line("      proxy_set_header Host $http_host;")
	line("      proxy_buffering on;")
	line("    }")
	line("  }")
	line("}")
	return b.String()
}

// nginxTarget is nginx started by the harness as a forward proxy for the
// plain HTTP origin at originAddr. Each start writes a fresh configuration
// into the confdir it is given and checks that a request through nginx
// reaches the origin.
func nginxTarget(bin, build, originAddr string, conns int, timeout, ioTimeout time.Duration) target {
	t := target{name: nginxName, httpOnly: true, startWith: func(ctx context.Context, dir string, opts procOptions) (*proxyProc, error) {
		port, err := benchkit.FreePort()
		if err != nil {
			return nil, err
		}
		confPath := filepath.Join(dir, "nginx.conf")
		errorLog := filepath.Join(dir, "error.log")
		conf := nginxConfig(dir, port, originAddr, conns, os.Geteuid() == 0, build)
		if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
			return nil, err
		}
		// This start's log only, for the error messages.
		os.Remove(errorLog)
		showLog := func() string { return nginxErrorLog(errorLog) }
		// -e: errors before the configuration is read go to the log in
		// dir too, not to the build's default path.
		cmd := exec.Command(bin, "-p", dir+string(filepath.Separator), "-c", confPath, "-e", errorLog)
		opts.extraLog = showLog
		p, err := startProcess(ctx, nginxName, cmd, "127.0.0.1:"+strconv.Itoa(port), timeout, opts)
		if err != nil {
			return nil, err
		}
		// SIGTERM is nginx's fast shutdown: the master stops the
		// workers and exits.
		p.stopSignal = syscall.SIGTERM
		// The master listens before its workers run: only a request
		// that comes back from the origin shows that nginx proxies.
		if err := probeForwardProxy(p.addr, originAddr, ioTimeout); err != nil {
			p.stop()
			return nil, fmt.Errorf("nginx listens on %s but does not proxy to the origin: %w\n%s", p.addr, err, showLog())
		}
		return p, nil
	}}
	t.start = func(ctx context.Context, dir string) (*proxyProc, error) { return t.startWith(ctx, dir, procOptions{}) }
	return t
}

// nginxErrorLog is the end of nginx's error log, to show why it failed.
func nginxErrorLog(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "(no nginx error log)\n"
		}
		return fmt.Sprintf("(nginx error log: %v)\n", err)
	}
	if len(data) > 4096 {
		data = data[len(data)-4096:]
	}
	return "nginx error log " + path + ":\n" + string(data)
}

// probeForwardProxy sends one absolute-form GET /small for the origin at
// originAddr through the proxy at addr, and wants a 200 with the body.
func probeForwardProxy(addr, originAddr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(deadline)
	cfg := loadConfig{scenario: scenarioHTTP, viaProxy: true, originAddr: originAddr, path: "/small"}
	n, err := roundTrip(c, bufio.NewReader(c), cfg.request())
	if err != nil && !errors.Is(err, errConnClose) {
		return err
	}
	if want := int64(bodySizes["/small"]); n != want {
		return fmt.Errorf("%d body bytes, want %d", n, want)
	}
	return nil
}
