package flow

import (
	"sync"
	"testing"
)

func TestBackupRevert(t *testing.T) {
	req, err := NewRequest("GET", "http://example.com/a", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := NewHTTPFlow(NewClient(Address{Host: "127.0.0.1", Port: 1}, Address{}, "regular"), NewServer(Address{Host: "example.com", Port: 80}))
	f.Request = req
	f.Response = NewResponse(200, []byte("one"), nil)
	id := f.ID
	if f.Modified() || f.Revert() {
		t.Fatal("a flow without a backup is modified or reverts")
	}
	f.Backup()
	if f.Modified() {
		t.Error("modified right after a backup")
	}
	f.Response.SetContent([]byte("two"))
	f.Request.Method = "POST"
	f.SetMarked(":default:")
	f.Backup() // a second backup keeps the first
	if !f.Modified() {
		t.Error("not modified after changes")
	}
	f.Intercept()
	if !f.Revert() {
		t.Fatal("Revert found no backup")
	}
	if string(f.Response.RawContent) != "one" || f.Request.Method != "GET" || f.Marked() != "" || f.ID != id {
		t.Errorf("reverted: %q %s %q %s", f.Response.RawContent, f.Request.Method, f.Marked(), f.ID)
	}
	if !f.IsIntercepted() || !f.IsLive() {
		t.Error("Revert changed the control state")
	}
	if f.Modified() || f.Revert() {
		t.Error("the backup is still there after Revert")
	}
	f.Resume()

	tf := NewTCPFlow(nil, nil)
	tf.Messages = []*TCPMessage{{FromClient: true, Content: []byte("hi"), Timestamp: 1}}
	tf.Backup()
	tf.Messages[0].Content = []byte("changed")
	tf.Messages = append(tf.Messages, &TCPMessage{Content: []byte("more")})
	if !tf.Modified() || !tf.Revert() || len(tf.Messages) != 1 || string(tf.Messages[0].Content) != "hi" {
		t.Errorf("TCP revert: %v", tf.Messages)
	}
}

func TestCopyAny(t *testing.T) {
	tf := NewTCPFlow(&Client{ID: "c"}, &Server{ID: "s"})
	tf.Messages = []*TCPMessage{{Content: []byte("x")}}
	tf.Metadata.Set("k", "v")
	c := CopyAny(tf).(*TCPFlow)
	if c.ID == tf.ID || c.IsLive() || c.ClientConn == tf.ClientConn || &c.Messages[0].Content[0] == &tf.Messages[0].Content[0] {
		t.Error("the copy shares state or is live")
	}
	if v, _ := c.Metadata.Get("k"); v != "v" || c.Base() != &c.Flow {
		t.Error("the copy lost metadata")
	}
	hf := NewHTTPFlow(nil, nil)
	if hc := CopyAny(hf).(*HTTPFlow); hc.ID == hf.ID {
		t.Error("HTTP copy kept the id")
	}
}

// TestBackupRace: backups, reverts and control changes from several
// goroutines (run with -race).
func TestBackupRace(t *testing.T) {
	f := NewHTTPFlow(nil, nil)
	f.Request, _ = NewRequest("GET", "http://example.com/", nil, nil)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				f.Intercept()
				f.Resume()
				_ = f.IsIntercepted()
			}
		}()
	}
	for range 50 {
		f.Backup()
		f.Modified()
		f.Revert()
	}
	wg.Wait()
}
