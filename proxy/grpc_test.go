package proxy_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// rawCodec carries gRPC messages as they are: the test needs no protobuf
// code, only gRPC's framing, trailers and streams.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "raw" }

// grpcOrigin starts a gRPC server over TLS with a unary method that echoes
// and a bidirectional stream that answers every message.
func grpcOrigin(t *testing.T) string {
	t.Helper()
	cert := httptest.NewTLSServer(http.NotFoundHandler())
	tlsCfg := cert.TLS.Clone()
	cert.Close()
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(tlsCfg)), grpc.ForceServerCodec(rawCodec{}))
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "test.Echo",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Unary",
			Handler: func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
				var in []byte
				if err := dec(&in); err != nil {
					return nil, err
				}
				out := append([]byte("echo:"), in...)
				return &out, nil
			},
		}},
		Streams: []grpc.StreamDesc{{
			StreamName: "Bidi", ServerStreams: true, ClientStreams: true,
			Handler: func(_ any, stream grpc.ServerStream) error {
				for {
					var in []byte
					if err := stream.RecvMsg(&in); err == io.EOF {
						return nil
					} else if err != nil {
						return err
					}
					out := append([]byte("pong:"), in...)
					if err := stream.SendMsg(&out); err != nil {
						return err
					}
				}
			},
		}},
	}, struct{}{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// grpcThroughProxy is a gRPC client connection to target through the
// proxy's CONNECT, trusting the proxy's CA.
func grpcThroughProxy(t *testing.T, proxyAddr, target string, roots *x509.CertPool) *grpc.ClientConn {
	t.Helper()
	dial := func(ctx context.Context, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", proxyAddr)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", addr, addr)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 200 {
			c.Close()
			return nil, fmt.Errorf("CONNECT: %v %v", resp, err)
		}
		return c, nil
	}
	cc, err := grpc.NewClient("passthrough:///"+target,
		grpc.WithContextDialer(dial),
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// TestGRPCThroughMitmdump: unary and streaming gRPC over TLS through
// mitmdump with its CA; the flows are visible to a script (path, message
// bytes, the grpc-status trailer) and to the dumper. The script streams
// the bidirectional call, so that its messages pass one by one.
func TestGRPCThroughMitmdump(t *testing.T) {
	origin := grpcOrigin(t)
	confdir, dir := t.TempDir(), t.TempDir()
	script := filepath.Join(dir, "grpc.py")
	os.WriteFile(script, []byte(`from mitmproxy import ctx

def requestheaders(flow):
    if flow.request.path.endswith("/Bidi"):
        flow.request.stream = True

def responseheaders(flow):
    if flow.request.path.endswith("/Bidi"):
        flow.response.stream = True

def response(flow):
    tr = flow.response.trailers
    ctx.log.info("grpc %s %s status=%s body=%r" % (flow.request.http_version, flow.request.path,
        tr.get("grpc-status") if tr is not None else None,
        flow.response.content if flow.response.content is not None else "streamed"))
`), 0o644)
	md := testutil.StartMitmdump(t, "--set", "confdir="+confdir, "--set", "ssl_insecure=true", "-s", script)
	roots := caPool(t, confdir)
	cc := grpcThroughProxy(t, md.Addr, origin, roots)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	in, out := []byte("hi"), []byte(nil)
	if err := cc.Invoke(ctx, "/test.Echo/Unary", &in, &out); err != nil {
		t.Fatalf("unary call: %v\n%s", err, md.Output())
	}
	if string(out) != "echo:hi" {
		t.Errorf("unary reply %q", out)
	}
	md.WaitOutput(t, `grpc HTTP/2.0 /test.Echo/Unary status=0 body=b'\x00\x00\x00\x00\x07echo:hi'`, 10*time.Second)
	md.WaitOutput(t, "POST https://"+origin+"/test.Echo/Unary HTTP/2.0", 5*time.Second)
	md.WaitOutput(t, "<< HTTP/2.0 200 OK 12b", 5*time.Second)

	// Ping-pong: each message waits for the answer to the one before, so
	// this only works when both bodies are streamed as they come.
	stream, err := cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, "/test.Echo/Bidi")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		msg := []byte(fmt.Sprint("m", i))
		if err := stream.SendMsg(&msg); err != nil {
			t.Fatal(err)
		}
		var reply []byte
		if err := stream.RecvMsg(&reply); err != nil {
			t.Fatalf("message %d: %v\n%s", i, err, md.Output())
		}
		if want := "pong:" + string(msg); string(reply) != want {
			t.Errorf("reply %q, want %q", reply, want)
		}
	}
	stream.CloseSend()
	var reply []byte
	if err := stream.RecvMsg(&reply); err != io.EOF {
		t.Errorf("end of stream: %v", err)
	}
	md.WaitOutput(t, "grpc HTTP/2.0 /test.Echo/Bidi status=0 body='streamed'", 10*time.Second)
	if strings.Contains(md.Output(), "Error") {
		t.Errorf("errors in the output:\n%s", md.Output())
	}
}
