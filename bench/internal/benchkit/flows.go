package benchkit

import (
	"bufio"
	"fmt"
	"os"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
)

// WriteFlows writes n HTTP flows, the i-th made by mk(i), as a flow file of
// the given format version (flowfile.Version21 for mitmgo,
// flowfile.Version17 for mitmproxy 8.1.1) to path. A partly written file is
// left in place on error.
func WriteFlows(path string, n, version int, mk func(i int) (*flow.HTTPFlow, error)) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	w := flowfile.NewWriter(bw, version)
	for i := range n {
		fl, err := mk(i)
		if err != nil {
			return fmt.Errorf("flow %d: %w", i, err)
		}
		if err := w.Write(fl.State()); err != nil {
			return fmt.Errorf("flow %d: %w", i, err)
		}
	}
	return bw.Flush()
}

// LoopbackClient is the client connection record of synthetic flows: a
// client on 127.0.0.1:50000 of a proxy listening on 127.0.0.1:8080.
func LoopbackClient() *flow.Client {
	return flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50000}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular")
}
