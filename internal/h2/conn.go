package h2

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Buffer and batching sizes, chosen by measurement (bench_test.go).
const (
	// readBufSize buffers the socket under the Framer, so a frame header
	// and its payload do not cost a read each. 32 and 64 KiB measured no
	// faster, and every connection holds one.
	readBufSize = 16 << 10
	// writeBufSize batches small frames into one write; a 16 KiB DATA
	// payload fills it up behind the frames before it (see writeData).
	// 64 and 256 KiB buffers measured no faster for 64 KiB responses
	// (when DATA frames still went through the Framer's own buffer).
	writeBufSize = 16 << 10
	// chunkSize is the unit in which a stream buffers received DATA;
	// small frames are packed into one chunk.
	chunkSize = 16 << 10
	// maxFreeChunks bounds the per-connection free list of chunks.
	maxFreeChunks = 64
	// maxWriteChunk is how much of the send windows one Write reserves at
	// a time: enough to batch frames, little enough to share the
	// connection window between streams.
	maxWriteChunk = 64 << 10
	// maxCtrlQueue bounds the frames the read loop queued but the writer
	// has not sent: a peer that floods PINGs or SETTINGS while not
	// reading our answers gets ENHANCE_YOUR_CALM.
	maxCtrlQueue = 10000
	// maxContinuations bounds the CONTINUATION frames of one header
	// block (floods of empty frames, CVE-2023-45288).
	maxContinuations = 1024
	// goAwayTimeout bounds sending the final GOAWAY of a failing
	// connection to a peer that does not read.
	goAwayTimeout = time.Second
	// lingerTimeout bounds waiting for the peer to close after a graceful
	// shutdown: we half-close and read until EOF so that unread data in
	// our socket does not make the kernel reset the connection and
	// destroy the final responses.
	lingerTimeout = time.Second
	// provisionalMaxStreams is the server's stream limit assumed until its
	// first SETTINGS arrive (mitmproxy's provisional_max_concurrency): a
	// server that allows fewer would refuse the excess.
	provisionalMaxStreams = 10
	maxStreamID           = 1<<31 - 1
)

// keepaliveData is the payload of keepalive PINGs (mitmproxy sends eight
// ASCII zeros); explicit Pings set the top bit of a counter instead.
const keepaliveData = "00000000"

func keepalivePayload() [8]byte { return [8]byte([]byte(keepaliveData)) }

type ctrlKind uint8

const (
	ctrlWindowUpdate ctrlKind = iota
	ctrlRST
	ctrlPing
	ctrlPingAck
	ctrlSettingsAck
	ctrlGoAway
	ctrl431 // a 431 response to a request whose header list is too large
)

// ctrlFrame is a frame queued by the read loop (or by a Read, a Reset) for
// the writer.
type ctrlFrame struct {
	kind   ctrlKind
	stream uint32
	val    uint32 // WINDOW_UPDATE increment, GOAWAY last stream ID
	code   http2.ErrCode
	data   [8]byte
	debug  string
}

// conn is the part of a connection shared by ServerConn and ClientConn.
type conn struct {
	nc     net.Conn
	log    *slog.Logger
	client bool
	set    Settings

	// Read side: the read loop only.
	br       *bufio.Reader
	fr       *http2.Framer
	hd       *headerDecoder
	lastRead atomic.Int64 // UnixNano of the last frame received

	// Write side. Lock order: wmu before mu.
	wmu      sync.Mutex
	wwaiting atomic.Int32 // goroutines waiting for wmu
	bw       *bufio.Writer
	fw       *http2.Framer
	henc     *hpack.Encoder
	hbuf     bytes.Buffer
	// dataHeader is writeData's frame header: a local array would escape
	// through bufio.Writer.Write and cost an allocation per frame.
	dataHeader [frameHeaderLen]byte
	// dataHeld counts the DATA bytes written since the writer lock was
	// taken (see unlockWriter).
	dataHeld  int
	werr      error       // first write error; later writes are skipped
	ctrlSpare []ctrlFrame // swapped with ctrl when draining
	frames    atomic.Int64
	flushes   atomic.Int64

	ctrlSignal chan struct{} // cap 1: the control queue became non-empty
	closing    chan struct{} // closed when the connection fails
	onStream   func(*Stream) // server: start a handler

	mu sync.Mutex
	// Everything below is guarded by mu.
	err          error // why the connection ended; set once
	clean        bool  // it ended the ordinary way
	ctrl         []ctrlFrame
	ctrlOverflow bool
	streams      map[uint32]*Stream
	// active counts open streams, against the concurrency limit.
	active int
	// running counts server handlers; at most MaxConcurrentStreams run,
	// more wait in queued. A client resetting streams as fast as it opens
	// them (CVE-2023-44487) thus cannot start unbounded handlers.
	running     int
	queued      []*Stream
	free        [][]byte
	connWaiters []*Stream // writers blocked on the connection send window
	slotWait    chan struct{}
	slotWaiters int

	sendWindow     int64 // the peer's connection window for our DATA
	recvAvail      int64 // what the peer may still send on the connection
	recvUnreturned int64 // connection credit not yet returned

	peerInitialWindow int64
	peerMaxFrame      uint32
	peerMaxStreams    uint32
	peerMaxHeaderList uint32 // 0: unlimited
	peerTableSize     uint32
	tableSizeChanged  bool
	sawSettings       bool // read loop only
	peerSettings      bool // the peer's first SETTINGS were applied

	goAwaySent *GoAwayError
	goAwayRecv *GoAwayError
	finishing  bool   // graceful close: flush, half-close, wait for EOF
	maxPeerID  uint32 // server: highest stream ID the client used
	nextID     uint32 // client: next stream ID

	pings      map[[8]byte]chan struct{}
	pingSeq    uint64
	kaOut      bool  // a keepalive PING is unanswered
	kaSentAt   int64 // when it was sent (UnixNano)
	kaLastSeen int64 // lastRead when it was sent
}

func newConn(nc net.Conn, r io.Reader, s Settings, log *slog.Logger, client bool) *conn {
	s = s.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if r == nil {
		r = nc
	}
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, readBufSize)
	}
	c := &conn{
		nc:                nc,
		log:               log,
		client:            client,
		set:               s,
		br:                br,
		hd:                newHeaderDecoder(s.MaxHeaderListSize),
		bw:                bufio.NewWriterSize(nc, writeBufSize),
		ctrlSignal:        make(chan struct{}, 1),
		closing:           make(chan struct{}),
		streams:           make(map[uint32]*Stream),
		slotWait:          make(chan struct{}),
		sendWindow:        initialWindow,
		recvAvail:         int64(s.connWindow()),
		peerInitialWindow: initialWindow,
		peerMaxFrame:      minMaxFrameSize,
		peerMaxStreams:    provisionalMaxStreams,
		pings:             make(map[[8]byte]chan struct{}),
	}
	c.fr = http2.NewFramer(nil, br)
	c.fr.SetMaxReadFrameSize(s.MaxFrameSize)
	c.fr.SetReuseFrames()
	c.fw = http2.NewFramer(c.bw, nil)
	c.henc = hpack.NewEncoder(&c.hbuf)
	c.lastRead.Store(time.Now().UnixNano())
	return c
}

// writeSettings writes our SETTINGS and opens the connection window beyond
// the 65,535 octets every connection starts with.
func (c *conn) writeSettings() error {
	settings := []http2.Setting{
		{ID: http2.SettingInitialWindowSize, Val: c.set.InitialWindowSize},
		{ID: http2.SettingMaxFrameSize, Val: c.set.MaxFrameSize},
		{ID: http2.SettingMaxHeaderListSize, Val: c.set.MaxHeaderListSize},
	}
	if c.client {
		settings = append([]http2.Setting{{ID: http2.SettingEnablePush, Val: 0}}, settings...)
	} else {
		settings = append([]http2.Setting{{ID: http2.SettingMaxConcurrentStreams, Val: c.set.MaxConcurrentStreams}}, settings...)
	}
	c.lockWriter()
	if c.client {
		_, err := c.bw.WriteString(http2.ClientPreface)
		c.noteErr(err)
	}
	c.noteWrite(c.fw.WriteSettings(settings...))
	if inc := c.set.connWindow() - initialWindow; inc > 0 {
		c.noteWrite(c.fw.WriteWindowUpdate(0, inc))
	}
	err := c.werr
	c.unlockWriter()
	return err
}

// ---- writing ----

func (c *conn) lockWriter() {
	c.wwaiting.Add(1)
	c.wmu.Lock()
	c.wwaiting.Add(-1)
	c.dataHeld = 0
}

// unlockWriter sends the queued control frames and flushes unless another
// writer is waiting: that one flushes after adding its own frames, so frames
// of concurrent streams share writes.
//
// Before flushing small writes it yields once: the streams the read loop
// has just woken (requests or responses that arrived in one read) are
// runnable then, and those that write meanwhile share the flush. Not after
// a large body's DATA, which fills writes by itself: held back, the bodies
// of more streams were in memory at once (h2 with 64 KiB bodies, 32
// connections x 10 streams: peak RSS 79 -> 100 MiB, no gain in CPU).
func (c *conn) unlockWriter() {
	c.drainCtrl()
	if c.flushDue() && c.dataHeld < yieldBelow {
		c.wmu.Unlock()
		runtime.Gosched()
		c.lockWriter()
		c.drainCtrl()
	}
	if c.flushDue() {
		c.flush()
	}
	c.wmu.Unlock()
}

// flushDue reports whether the writer holding wmu is to flush: something is
// buffered and no other writer waits to add to it.
func (c *conn) flushDue() bool {
	return c.werr == nil && c.bw.Buffered() > 0 && c.wwaiting.Load() == 0
}

// noteWrite counts a frame written and records an error (noteErr).
func (c *conn) noteWrite(err error) {
	if err == nil {
		c.frames.Add(1)
	}
	c.noteErr(err)
}

// flush writes out the buffer. Called with wmu held.
func (c *conn) flush() {
	c.flushes.Add(1)
	c.noteErr(c.bw.Flush())
}

// noteErr records the first write error and fails the connection. Called
// with wmu held.
func (c *conn) noteErr(err error) {
	if err == nil {
		return
	}
	if c.werr == nil {
		c.werr = fmt.Errorf("h2: write: %w", err)
		c.fail(c.werr, false, nil)
	}
}

func (c *conn) drainCtrl() {
	c.mu.Lock()
	q := c.ctrl
	if len(q) == 0 {
		c.mu.Unlock()
		return
	}
	c.ctrl = c.ctrlSpare[:0]
	c.mu.Unlock()
	for i := range q {
		if c.werr == nil {
			c.writeCtrl(&q[i])
		}
		q[i] = ctrlFrame{}
	}
	c.ctrlSpare = q[:0]
}

func (c *conn) writeCtrl(f *ctrlFrame) {
	var err error
	switch f.kind {
	case ctrlWindowUpdate:
		err = c.fw.WriteWindowUpdate(f.stream, f.val)
	case ctrlRST:
		err = c.fw.WriteRSTStream(f.stream, f.code)
	case ctrlPing:
		err = c.fw.WritePing(false, f.data)
	case ctrlPingAck:
		err = c.fw.WritePing(true, f.data)
	case ctrlSettingsAck:
		err = c.fw.WriteSettingsAck()
	case ctrlGoAway:
		err = c.fw.WriteGoAway(f.val, f.code, []byte(f.debug))
	case ctrl431:
		c.mu.Lock()
		maxFrame := c.peerMaxFrame
		c.mu.Unlock()
		c.writeBlock(f.stream, []Field{{Name: ":status", Value: "431"}}, true, maxFrame)
		return
	}
	c.noteWrite(err)
}

// writeBlock sends a header block as HEADERS and CONTINUATION frames. Called
// with wmu held.
func (c *conn) writeBlock(id uint32, fields []Field, end bool, maxFrame uint32) {
	c.mu.Lock()
	changed, size := c.tableSizeChanged, c.peerTableSize
	c.tableSizeChanged = false
	c.mu.Unlock()
	if changed {
		// Bounded by the encoder's limit (4096), so a peer cannot make
		// us keep a larger table.
		c.henc.SetMaxDynamicTableSize(size)
	}
	encodeBlock(c.henc, &c.hbuf, fields)
	b := c.hbuf.Bytes()
	first := true
	for first || len(b) > 0 {
		n := min(len(b), int(maxFrame))
		frag := b[:n]
		b = b[n:]
		if first {
			first = false
			c.noteWrite(c.fw.WriteHeaders(http2.HeadersFrameParam{
				StreamID: id, BlockFragment: frag, EndStream: end, EndHeaders: len(b) == 0,
			}))
		} else {
			c.noteWrite(c.fw.WriteContinuation(id, len(b) == 0, frag))
		}
		if c.werr != nil {
			return
		}
	}
}

// writeData sends p as DATA frames of at most maxFrame bytes. Called with
// wmu held.
//
// The frame header and the payload go to the buffered writer as they are:
// Framer.WriteData first copied the payload into a frame buffer of its
// own, one copy more whenever other frames were buffered before it (a
// full frame into an empty buffer went from the Framer's buffer to the
// socket; now it fills the buffer behind the header and spills 9 bytes).
func (c *conn) writeData(id uint32, p []byte, end bool, maxFrame uint32) {
	for {
		n := min(len(p), int(maxFrame))
		last := n == len(p)
		var flags http2.Flags
		if end && last {
			flags = http2.FlagDataEndStream
		}
		c.dataHeader = [frameHeaderLen]byte{
			byte(n >> 16), byte(n >> 8), byte(n),
			byte(http2.FrameData), byte(flags),
			byte(id >> 24 & 0x7f), byte(id >> 16), byte(id >> 8), byte(id),
		}
		c.dataHeld += n
		_, err := c.bw.Write(c.dataHeader[:])
		if err == nil {
			_, err = c.bw.Write(p[:n])
		}
		c.noteWrite(err)
		p = p[n:]
		if last || c.werr != nil {
			return
		}
	}
}

// yieldBelow: a writer that wrote less DATA than this yields before it
// flushes (see unlockWriter).
const yieldBelow = 4 << 10

// frameHeaderLen is the size of a frame header (RFC 9113 §4.1).
const frameHeaderLen = 9

// queueCtrlLocked queues a frame for the writer. Called with mu held.
func (c *conn) queueCtrlLocked(f ctrlFrame) {
	if c.err != nil {
		return
	}
	c.ctrl = append(c.ctrl, f)
	if len(c.ctrl) == 1 {
		select {
		case c.ctrlSignal <- struct{}{}:
		default:
		}
	}
	if len(c.ctrl) > maxCtrlQueue {
		c.ctrlOverflow = true
	}
}

// ctrlLoop writes queued control frames when no stream is writing, sends
// keepalive PINGs and finishes a graceful shutdown.
func (c *conn) ctrlLoop() {
	var tick <-chan time.Time
	var t *time.Timer
	if iv := c.set.PingInterval; iv > 0 {
		t = time.NewTimer(iv)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-c.closing:
			return
		case <-c.ctrlSignal:
			if !c.ctrlRound() {
				return
			}
		case <-tick:
			next, dead := c.keepalive()
			if dead {
				c.log.Info("HTTP/2 keepalive PING not answered, closing", "peer", c.nc.RemoteAddr().String())
				c.fail(ErrPingTimeout, false, nil)
				return
			}
			t.Reset(next)
		}
	}
}

// ctrlRound drains the control queue; when a graceful shutdown is due it
// flushes, half-closes and waits for the peer's EOF (bounded). It reports
// whether the loop should go on.
func (c *conn) ctrlRound() bool {
	c.lockWriter()
	c.unlockWriter()
	c.mu.Lock()
	fin := c.finishing && c.err == nil
	c.mu.Unlock()
	if !fin {
		return true
	}
	c.lockWriter()
	c.drainCtrl()
	if c.werr == nil {
		c.flush()
	}
	ok := c.werr == nil
	if ok {
		// Nothing may be written after the half-close.
		c.werr = ErrClosed
	}
	c.wmu.Unlock()
	if !ok {
		return false
	}
	c.mu.Lock()
	reason := c.finishErrLocked()
	c.mu.Unlock()
	cw, isCW := c.nc.(interface{ CloseWrite() error })
	if !isCW || cw.CloseWrite() != nil {
		c.fail(reason, true, nil)
		return false
	}
	t := time.NewTimer(lingerTimeout)
	defer t.Stop()
	select {
	case <-c.closing: // the read loop saw EOF
	case <-t.C:
		c.fail(reason, true, nil)
	}
	return false
}

// finishErrLocked is why a gracefully finished connection ended.
func (c *conn) finishErrLocked() error {
	if c.goAwayRecv != nil {
		return c.goAwayRecv
	}
	return ErrClosed
}

// keepalive sends a PING after PingInterval without a received frame. dead
// reports a PING that neither its answer nor any other frame followed
// within another interval. next is when to check again.
func (c *conn) keepalive() (next time.Duration, dead bool) {
	iv := int64(c.set.PingInterval)
	now := time.Now().UnixNano()
	last := c.lastRead.Load()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kaOut && last != c.kaLastSeen {
		c.kaOut = false // the peer is alive; the answer may follow
	}
	if c.kaOut {
		if now-c.kaSentAt >= iv {
			return 0, true
		}
		return time.Duration(iv - (now - c.kaSentAt)), false
	}
	if idle := now - last; idle < iv {
		return time.Duration(iv - idle), false
	}
	c.log.Debug("Send HTTP/2 keep-alive PING", "peer", c.nc.RemoteAddr().String())
	c.kaOut, c.kaSentAt, c.kaLastSeen = true, now, last
	c.queueCtrlLocked(ctrlFrame{kind: ctrlPing, data: keepalivePayload()})
	return time.Duration(iv), false
}

// ping sends a PING and waits for its answer.
func (c *conn) ping(ctx context.Context) error {
	ch := make(chan struct{})
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return err
	}
	c.pingSeq++
	var d [8]byte
	binary.BigEndian.PutUint64(d[:], c.pingSeq|1<<63)
	c.pings[d] = ch
	c.queueCtrlLocked(ctrlFrame{kind: ctrlPing, data: d})
	c.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-c.closing:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.err
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pings, d)
		c.mu.Unlock()
		return ctx.Err()
	}
}

// ---- failing ----

// fail ends the connection: err says why (c.err), clean whether that was
// the ordinary way, streamErr (err if nil) is what unfinished streams get.
func (c *conn) fail(err error, clean bool, streamErr error) {
	c.markFailed(err, clean, streamErr)
	_ = c.nc.Close()
}

// markFailed is fail without closing the socket.
func (c *conn) markFailed(err error, clean bool, streamErr error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err, c.clean = err, clean
	close(c.closing)
	if streamErr == nil {
		streamErr = err
	}
	for _, s := range c.streams {
		c.closeStreamLocked(s, streamErr)
	}
	c.wakeSlotsLocked()
}

// failProtocol sends GOAWAY for a protocol violation of the peer's and
// fails the connection. Called from the read loop, never with wmu held.
func (c *conn) failProtocol(ce *ConnError) {
	c.log.Info(ce.Error(), "peer", c.nc.RemoteAddr().String())
	c.mu.Lock()
	last, done := c.maxPeerID, c.err != nil
	c.mu.Unlock()
	if done {
		c.fail(ce, false, nil)
		return
	}
	// A writer blocked on a peer that does not read would hold wmu
	// forever.
	_ = c.nc.SetWriteDeadline(time.Now().Add(goAwayTimeout))
	c.lockWriter()
	if c.werr == nil {
		c.noteWrite(c.fw.WriteGoAway(last, ce.Code, []byte(ce.Reason)))
		if c.werr == nil {
			c.flush()
		}
	}
	sent := c.werr == nil
	if sent {
		c.werr = ErrClosed // nothing after GOAWAY
	}
	c.wmu.Unlock()
	c.markFailed(ce, false, nil)
	// Closing with the peer's frames unread would make the kernel reset
	// the connection, and the reset can destroy the GOAWAY before the peer
	// reads it. So half-close and read until the peer closes (bounded).
	if cw, ok := c.nc.(interface{ CloseWrite() error }); sent && ok && cw.CloseWrite() == nil {
		_ = c.nc.SetReadDeadline(time.Now().Add(goAwayTimeout))
		_, _ = io.CopyN(io.Discard, c.br, 1<<20)
	}
	_ = c.nc.Close()
}

// ---- streams ----

func (c *conn) newStreamLocked(id uint32) *Stream {
	s := &Stream{
		c:          c,
		id:         id,
		done:       make(chan struct{}),
		recvNotify: make(chan struct{}, 1),
		sendNotify: make(chan struct{}, 1),
		recvAvail:  int64(c.set.InitialWindowSize),
		sendWindow: c.peerInitialWindow,
		expectLen:  -1,
	}
	c.streams[id] = s
	return s
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// closeStreamLocked removes a stream that ended, normally (err nil: both
// halves closed) or not.
func (c *conn) closeStreamLocked(s *Stream, err error) {
	if s.closed {
		return
	}
	s.closed = true
	if err != nil && s.err == nil {
		s.err = err
	}
	delete(c.streams, s.id)
	close(s.done)
	if s.err != nil && s.onReset != nil {
		// Not under c.mu: f may call back into the stream.
		go s.onReset(s.err)
	}
	s.onReset = nil
	signal(s.recvNotify)
	signal(s.sendNotify)
	if s.err != nil && !s.recvEnded {
		// Read reports the error at once; the data is of no use.
		c.dropBufLocked(s)
	}
	c.releaseSlotLocked()
}

func (c *conn) maybeCloseLocked(s *Stream) {
	if s.recvEnded && s.sendEnded {
		c.closeStreamLocked(s, nil)
	}
}

func (c *conn) releaseSlotLocked() {
	c.active--
	c.wakeSlotsLocked()
	if c.err == nil && c.active == 0 && (c.goAwaySent != nil || c.client && c.goAwayRecv != nil) {
		c.startFinishLocked()
	}
}

func (c *conn) wakeSlotsLocked() {
	if c.slotWaiters > 0 {
		close(c.slotWait)
		c.slotWait = make(chan struct{})
	}
}

func (c *conn) startFinishLocked() {
	if c.finishing {
		return
	}
	c.finishing = true
	select {
	case c.ctrlSignal <- struct{}{}:
	default:
	}
}

// resetStreamLocked ends a stream with RST_STREAM from our side.
func (c *conn) resetStreamLocked(s *Stream, code http2.ErrCode, reason string) {
	if s.closed {
		return
	}
	err := &StreamError{StreamID: s.id, Code: code, Reason: reason}
	if reason != "" {
		c.log.Info(err.Error(), "peer", c.nc.RemoteAddr().String(), "stream", s.id)
	}
	c.queueCtrlLocked(ctrlFrame{kind: ctrlRST, stream: s.id, code: code})
	c.closeStreamLocked(s, err)
}

// refuseLocked resets a stream we never created.
func (c *conn) refuseLocked(id uint32, code http2.ErrCode, reason string) {
	if reason != "" {
		c.log.Info((&StreamError{StreamID: id, Code: code, Reason: reason}).Error(), "peer", c.nc.RemoteAddr().String(), "stream", id)
	}
	c.queueCtrlLocked(ctrlFrame{kind: ctrlRST, stream: id, code: code})
}

// idleLocked reports whether id names a stream that was never opened: a
// frame other than HEADERS or PRIORITY on it is a connection error.
func (c *conn) idleLocked(id uint32) bool {
	if id%2 == 0 {
		return true // we never push, and servers may not open streams
	}
	if c.client {
		return id >= c.nextID
	}
	return id > c.maxPeerID
}

func (c *conn) getChunkLocked() []byte {
	if n := len(c.free); n > 0 {
		b := c.free[n-1]
		c.free = c.free[:n-1]
		return b[:0]
	}
	return make([]byte, 0, chunkSize)
}

func (c *conn) putChunkLocked(b []byte) {
	if len(c.free) < maxFreeChunks {
		c.free = append(c.free, b[:0])
	}
}

func (c *conn) dropBufLocked(s *Stream) {
	for i, b := range s.buf {
		c.putChunkLocked(b)
		s.buf[i] = nil
	}
	s.buf, s.roff, s.buffered = s.buf[:0], 0, 0
}

// ---- reading ----

// readLoop reads and handles frames until the connection ends, and returns
// why: the error for c.err, whether that is a clean end, and the error for
// streams still open.
func (c *conn) readLoop() (error, bool, error) {
	for {
		f, err := c.readFrame()
		if err == nil {
			c.lastRead.Store(time.Now().UnixNano())
			err = c.handleFrame(f)
		}
		if err == nil {
			c.mu.Lock()
			over := c.ctrlOverflow
			c.mu.Unlock()
			if over {
				err = connErr(http2.ErrCodeEnhanceYourCalm, "too many control frames queued for a peer that does not read")
			}
		}
		if err != nil {
			return c.readEnd(err)
		}
	}
}

// readFrame reads one frame. A stream error the Framer reports is handled
// here (the stream is reset) and reading goes on.
func (c *conn) readFrame() (http2.Frame, error) {
	for {
		fh, err := c.fr.ReadFrameHeader()
		if err != nil {
			return nil, c.frameErr(fh, err)
		}
		f, err := c.fr.ReadFrameForHeader(fh)
		if err == nil {
			return f, nil
		}
		var se http2.StreamError
		if !errors.As(err, &se) {
			return nil, c.frameErr(fh, err)
		}
		switch fh.Type {
		case http2.FrameHeaders, http2.FrameContinuation, http2.FramePushPromise:
			// The header block is lost, and the HPACK context with it.
			return nil, connErr(http2.ErrCodeProtocol, "malformed %s frame on stream %d", fh.Type, fh.StreamID)
		}
		c.mu.Lock()
		if s := c.streams[se.StreamID]; s != nil {
			c.resetStreamLocked(s, se.Code, fmt.Sprintf("malformed %s frame", fh.Type))
		} else if c.idleLocked(se.StreamID) {
			c.mu.Unlock()
			return nil, connErr(http2.ErrCodeProtocol, "%s frame on idle stream %d", fh.Type, se.StreamID)
		}
		c.mu.Unlock()
	}
}

// frameErr turns a Framer error into a connection error where it is one.
func (c *conn) frameErr(fh http2.FrameHeader, err error) error {
	if errors.Is(err, http2.ErrFrameTooLarge) {
		return connErr(http2.ErrCodeFrameSize, "%s frame of %d bytes exceeds SETTINGS_MAX_FRAME_SIZE (%d)", fh.Type, fh.Length, c.set.MaxFrameSize)
	}
	var ce http2.ConnectionError
	if errors.As(err, &ce) {
		reason := fmt.Sprintf("invalid %s frame", fh.Type)
		if d := c.fr.ErrorDetail(); d != nil {
			reason = d.Error()
		}
		return connErr(http2.ErrCode(ce), "%s", reason)
	}
	return err
}

// readEnd maps the error that stopped the read loop.
func (c *conn) readEnd(err error) (error, bool, error) {
	var ce *ConnError
	if errors.As(err, &ce) {
		return ce, false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err, c.clean, nil // we closed it
	}
	// A peer that closes with our frames unread makes its kernel reset
	// the connection: that is still the peer closing.
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		idle := len(c.streams) == 0
		switch {
		case c.finishing:
			return c.finishErrLocked(), true, ErrPeerClosed
		case c.goAwayRecv != nil:
			return c.goAwayRecv, idle, ErrPeerClosed
		default:
			return ErrPeerClosed, idle, nil
		}
	}
	return fmt.Errorf("h2: read: %w", err), false, nil
}

func (c *conn) handleFrame(f http2.Frame) error {
	if !c.sawSettings {
		// RFC 9113 §3.4: the preface's SETTINGS comes first.
		sf, ok := f.(*http2.SettingsFrame)
		if !ok || sf.IsAck() {
			return connErr(http2.ErrCodeProtocol, "expected SETTINGS frame, got %s", f.Header().Type)
		}
		c.sawSettings = true
	}
	switch f := f.(type) {
	case *http2.DataFrame:
		return c.onData(f)
	case *http2.HeadersFrame:
		return c.onHeaders(f)
	case *http2.SettingsFrame:
		return c.onSettings(f)
	case *http2.WindowUpdateFrame:
		return c.onWindowUpdate(f)
	case *http2.PingFrame:
		c.onPing(f)
	case *http2.RSTStreamFrame:
		return c.onRST(f)
	case *http2.GoAwayFrame:
		c.onGoAway(f)
	case *http2.PushPromiseFrame:
		if c.client {
			// We sent ENABLE_PUSH=0; h2 raises this and mitmproxy
			// closes the connection.
			return connErr(http2.ErrCodeProtocol, "Received pushed stream")
		}
		return connErr(http2.ErrCodeProtocol, "Received PUSH_PROMISE from client")
	case *http2.PriorityFrame, *http2.PriorityUpdateFrame:
		// Deprecated signals (RFC 9113 §5.3.2); we schedule FIFO.
	case *http2.UnknownFrame:
		// RFC 9113 §4.1: ignore unknown frame types.
		c.log.Debug("Ignoring unknown HTTP/2 frame type", "type", uint8(f.Type))
	}
	return nil
}

func (c *conn) onData(f *http2.DataFrame) error {
	id, n, data := f.StreamID, int64(f.Length), f.Data()
	c.mu.Lock()
	defer c.mu.Unlock()
	if n > c.recvAvail {
		return connErr(http2.ErrCodeFlowControl, "DATA exceeds the connection flow-control window")
	}
	// Connection credit goes back on receipt: the stream windows bound
	// what we buffer, and a stream whose reader stalls must not starve
	// the others of connection window.
	c.recvAvail -= n
	c.recvUnreturned += n
	if c.recvUnreturned >= int64(c.set.connWindow()/4) {
		c.queueCtrlLocked(ctrlFrame{kind: ctrlWindowUpdate, val: uint32(c.recvUnreturned)})
		c.recvAvail += c.recvUnreturned
		c.recvUnreturned = 0
	}
	s := c.streams[id]
	if s == nil {
		if c.idleLocked(id) {
			return connErr(http2.ErrCodeProtocol, "DATA on idle stream %d", id)
		}
		return nil // a stream we reset or that ended: its DATA may be in flight
	}
	if s.recvEnded {
		c.resetStreamLocked(s, http2.ErrCodeStreamClosed, "DATA after END_STREAM")
		return nil
	}
	if !s.finalSeen {
		c.resetStreamLocked(s, http2.ErrCodeProtocol, "Received HTTP/2 data frame, expected headers.")
		return nil
	}
	if n > s.recvAvail {
		c.resetStreamLocked(s, http2.ErrCodeFlowControl, "DATA exceeds the stream flow-control window")
		return nil
	}
	s.recvAvail -= n
	// Padding is consumed on arrival.
	s.unreturned += n - int64(len(data))
	s.gotLen += int64(len(data))
	if s.expectLen >= 0 && s.gotLen > s.expectLen {
		c.resetStreamLocked(s, http2.ErrCodeProtocol, fmt.Sprintf("Received %d bytes of data, more than content-length %d", s.gotLen, s.expectLen))
		return nil
	}
	if len(data) > 0 {
		c.appendLocked(s, data)
	}
	if f.StreamEnded() {
		if s.expectLen >= 0 && s.gotLen != s.expectLen {
			c.resetStreamLocked(s, http2.ErrCodeProtocol, fmt.Sprintf("Received %d bytes of data, content-length was %d", s.gotLen, s.expectLen))
			return nil
		}
		s.recvEnded = true
		c.maybeCloseLocked(s)
	}
	signal(s.recvNotify)
	return nil
}

// appendLocked copies received DATA into the stream's buffer, packing small
// frames into shared chunks.
func (c *conn) appendLocked(s *Stream, data []byte) {
	s.buffered += len(data)
	for len(data) > 0 {
		var last []byte
		if k := len(s.buf); k > 0 {
			last = s.buf[k-1]
		}
		if last == nil || len(last) == cap(last) {
			last = c.getChunkLocked()
			s.buf = append(s.buf, last)
		}
		k := copy(last[len(last):cap(last)], data)
		s.buf[len(s.buf)-1] = last[:len(last)+k]
		data = data[k:]
	}
}

func (c *conn) onHeaders(f *http2.HeadersFrame) error {
	id, endStream := f.StreamID, f.StreamEnded()
	c.hd.begin()
	if err := c.hd.write(f.HeaderBlockFragment()); err != nil {
		return err
	}
	for ended, n := f.HeadersEnded(), 1; !ended; n++ {
		if n > maxContinuations {
			return connErr(http2.ErrCodeEnhanceYourCalm, "header block in more than %d frames", maxContinuations)
		}
		fh, err := c.fr.ReadFrameHeader()
		if err != nil {
			return c.frameErr(fh, err)
		}
		cf, err := c.fr.ReadFrameForHeader(fh)
		if err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				return connErr(http2.ErrCodeProtocol, "malformed CONTINUATION frame on stream %d", fh.StreamID)
			}
			return c.frameErr(fh, err)
		}
		cont, ok := cf.(*http2.ContinuationFrame)
		if !ok { // the Framer's frame order check rules this out
			return connErr(http2.ErrCodeProtocol, "expected CONTINUATION, got %s", fh.Type)
		}
		if err := c.hd.write(cont.HeaderBlockFragment()); err != nil {
			return err
		}
		ended = cont.HeadersEnded()
	}
	fields, truncated, err := c.hd.end()
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.streams[id]; s != nil && s.finalSeen {
		c.onTrailersLocked(s, endStream, fields, truncated)
		return nil
	}
	if c.client {
		return c.onResponseLocked(id, endStream, fields, truncated)
	}
	return c.onRequestLocked(id, endStream, fields, truncated)
}

func (c *conn) onRequestLocked(id uint32, end bool, fields []Field, truncated bool) error {
	if id%2 == 0 {
		return connErr(http2.ErrCodeProtocol, "client opened even-numbered stream %d", id)
	}
	if id <= c.maxPeerID {
		// A stream we reset or refused; its trailers may be in flight.
		return nil
	}
	c.maxPeerID = id
	if c.goAwaySent != nil && id > c.goAwaySent.LastStreamID {
		return nil // RFC 9113 §6.8: ignored; the client retries elsewhere
	}
	if truncated {
		c.log.Info("HTTP/2 request header list too large", "peer", c.nc.RemoteAddr().String(), "stream", id, "limit", c.set.MaxHeaderListSize)
		c.queueCtrlLocked(ctrlFrame{kind: ctrl431, stream: id})
		if !end {
			// The client may still be sending a body; RFC 9113 §8.1 lets
			// a server that has answered stop it with NO_ERROR.
			c.queueCtrlLocked(ctrlFrame{kind: ctrlRST, stream: id, code: http2.ErrCodeNo})
		}
		return nil
	}
	if err := validateFields(fields, kindRequest); err != nil {
		c.refuseLocked(id, http2.ErrCodeProtocol, err.Error())
		return nil
	}
	cl, err := contentLength(fields)
	if err == nil && end && cl > 0 {
		err = malformed("Received 0 bytes of data, content-length was %d", cl)
	}
	if err != nil {
		c.refuseLocked(id, http2.ErrCodeProtocol, err.Error())
		return nil
	}
	if c.active >= int(c.set.MaxConcurrentStreams) {
		c.refuseLocked(id, http2.ErrCodeRefusedStream, "")
		return nil
	}
	s := c.newStreamLocked(id)
	s.head, s.headers, s.finalSeen, s.expectLen = fields, [][]Field{fields}, true, cl
	s.recvEnded = end
	c.active++
	if c.running < int(c.set.MaxConcurrentStreams) {
		c.running++
		c.onStream(s)
		return nil
	}
	// Handlers of streams the client already closed still run.
	c.queued = append(c.queued, s)
	if len(c.queued) > 4*int(c.set.MaxConcurrentStreams) {
		return connErr(http2.ErrCodeEnhanceYourCalm, "too many streams waiting for a handler")
	}
	return nil
}

// handlerReturnedLocked frees a handler slot and starts a queued stream's
// handler.
func (c *conn) handlerReturnedLocked() {
	c.running--
	for len(c.queued) > 0 && c.err == nil {
		s := c.queued[0]
		c.queued[0] = nil
		c.queued = c.queued[1:]
		if s.closed {
			continue // reset before it was served: nothing to do
		}
		c.running++
		c.onStream(s)
		return
	}
}

func (c *conn) onResponseLocked(id uint32, end bool, fields []Field, truncated bool) error {
	s := c.streams[id]
	if s == nil {
		if c.idleLocked(id) {
			return connErr(http2.ErrCodeProtocol, "Received HEADERS on idle stream %d", id)
		}
		return nil
	}
	if truncated {
		c.resetStreamLocked(s, http2.ErrCodeProtocol, fmt.Sprintf("response header list exceeds SETTINGS_MAX_HEADER_LIST_SIZE (%d)", c.set.MaxHeaderListSize))
		return nil
	}
	if err := validateFields(fields, kindResponse); err != nil {
		c.resetStreamLocked(s, http2.ErrCodeProtocol, err.Error())
		return nil
	}
	st := status(fields)
	if st < 200 {
		if st == 101 || end {
			// RFC 9113 §8.6 forbids 101; an interim response cannot
			// end a stream.
			c.resetStreamLocked(s, http2.ErrCodeProtocol, fmt.Sprintf("Invalid informational response %d", st))
			return nil
		}
		s.headers = append(s.headers, fields)
		signal(s.recvNotify)
		return nil
	}
	cl, err := contentLength(fields)
	if err != nil {
		c.resetStreamLocked(s, http2.ErrCodeProtocol, err.Error())
		return nil
	}
	if s.isHead || st == 204 || st == 304 {
		cl = -1 // content-length describes a body that is not sent
	}
	if end && cl > 0 {
		c.resetStreamLocked(s, http2.ErrCodeProtocol, fmt.Sprintf("Received 0 bytes of data, content-length was %d", cl))
		return nil
	}
	s.head, s.finalSeen, s.expectLen = fields, true, cl
	s.headers = append(s.headers, fields)
	if end {
		s.recvEnded = true
		c.maybeCloseLocked(s)
	}
	signal(s.recvNotify)
	return nil
}

func (c *conn) onTrailersLocked(s *Stream, end bool, fields []Field, truncated bool) {
	switch {
	case s.recvEnded:
		c.resetStreamLocked(s, http2.ErrCodeStreamClosed, "HEADERS after END_STREAM")
		return
	case !end:
		c.resetStreamLocked(s, http2.ErrCodeProtocol, "Received trailers without END_STREAM")
		return
	case truncated:
		c.resetStreamLocked(s, http2.ErrCodeProtocol, fmt.Sprintf("trailer list exceeds SETTINGS_MAX_HEADER_LIST_SIZE (%d)", c.set.MaxHeaderListSize))
		return
	}
	if err := validateFields(fields, kindTrailers); err != nil {
		c.resetStreamLocked(s, http2.ErrCodeProtocol, err.Error())
		return
	}
	if s.expectLen >= 0 && s.gotLen != s.expectLen {
		c.resetStreamLocked(s, http2.ErrCodeProtocol, fmt.Sprintf("Received %d bytes of data, content-length was %d", s.gotLen, s.expectLen))
		return
	}
	s.trailers = fields
	s.recvEnded = true
	c.maybeCloseLocked(s)
	signal(s.recvNotify)
}

func (c *conn) onSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.peerSettings {
		// Without SETTINGS_MAX_CONCURRENT_STREAMS the limit is none
		// (RFC 9113 §6.5.2), not the provisional one.
		c.peerSettings = true
		c.peerMaxStreams = math.MaxUint32
		c.wakeSlotsLocked()
	}
	err := f.ForeachSetting(func(st http2.Setting) error {
		if err := st.Valid(); err != nil {
			var ce http2.ConnectionError
			errors.As(err, &ce)
			return connErr(http2.ErrCode(ce), "invalid setting %v", st)
		}
		switch st.ID {
		case http2.SettingHeaderTableSize:
			c.peerTableSize, c.tableSizeChanged = st.Val, true
		case http2.SettingEnablePush:
			if c.client && st.Val != 0 {
				return connErr(http2.ErrCodeProtocol, "server sent SETTINGS_ENABLE_PUSH=1")
			}
		case http2.SettingMaxConcurrentStreams:
			c.peerMaxStreams = st.Val
			c.wakeSlotsLocked()
		case http2.SettingInitialWindowSize:
			// RFC 9113 §6.9.2: the change applies to every open stream,
			// and may make a window negative.
			delta := int64(st.Val) - c.peerInitialWindow
			c.peerInitialWindow = int64(st.Val)
			for _, s := range c.streams {
				s.sendWindow += delta
				if s.sendWindow > maxWindow {
					return connErr(http2.ErrCodeFlowControl, "SETTINGS_INITIAL_WINDOW_SIZE overflows the window of stream %d", s.id)
				}
				if delta > 0 {
					signal(s.sendNotify)
				}
			}
		case http2.SettingMaxFrameSize:
			c.peerMaxFrame = st.Val
		case http2.SettingMaxHeaderListSize:
			c.peerMaxHeaderList = st.Val
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.queueCtrlLocked(ctrlFrame{kind: ctrlSettingsAck})
	return nil
}

func (c *conn) onWindowUpdate(f *http2.WindowUpdateFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	inc := int64(f.Increment)
	if f.StreamID == 0 {
		c.sendWindow += inc
		if c.sendWindow > maxWindow {
			return connErr(http2.ErrCodeFlowControl, "WINDOW_UPDATE overflows the connection window")
		}
		for _, s := range c.connWaiters {
			s.waitingConn = false
			signal(s.sendNotify)
		}
		clear(c.connWaiters)
		c.connWaiters = c.connWaiters[:0]
		return nil
	}
	s := c.streams[f.StreamID]
	if s == nil {
		if c.idleLocked(f.StreamID) {
			return connErr(http2.ErrCodeProtocol, "WINDOW_UPDATE on idle stream %d", f.StreamID)
		}
		return nil
	}
	s.sendWindow += inc
	if s.sendWindow > maxWindow {
		c.resetStreamLocked(s, http2.ErrCodeFlowControl, "WINDOW_UPDATE overflows the stream window")
		return nil
	}
	signal(s.sendNotify)
	return nil
}

func (c *conn) onPing(f *http2.PingFrame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !f.IsAck() {
		c.queueCtrlLocked(ctrlFrame{kind: ctrlPingAck, data: f.Data})
		return
	}
	if f.Data == keepalivePayload() {
		c.kaOut = false
	}
	if ch, ok := c.pings[f.Data]; ok {
		delete(c.pings, f.Data)
		close(ch)
	}
}

func (c *conn) onRST(f *http2.RSTStreamFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.streams[f.StreamID]
	if s == nil {
		if c.idleLocked(f.StreamID) {
			return connErr(http2.ErrCodeProtocol, "RST_STREAM on idle stream %d", f.StreamID)
		}
		return nil
	}
	c.log.Debug("HTTP/2 stream reset by peer", "peer", c.nc.RemoteAddr().String(), "stream", f.StreamID, "code", f.ErrCode)
	c.closeStreamLocked(s, &StreamError{StreamID: f.StreamID, Code: f.ErrCode, Remote: true})
	return nil
}

func (c *conn) onGoAway(f *http2.GoAwayFrame) {
	g := &GoAwayError{Code: f.ErrCode, LastStreamID: f.LastStreamID, Debug: string(f.DebugData()), Remote: true}
	if g.Code != http2.ErrCodeNo {
		c.log.Info(g.Error(), "peer", c.nc.RemoteAddr().String())
	} else {
		c.log.Debug(g.Error(), "peer", c.nc.RemoteAddr().String())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.goAwayRecv != nil && c.goAwayRecv.LastStreamID < g.LastStreamID {
		g.LastStreamID = c.goAwayRecv.LastStreamID // it may only go down
	}
	c.goAwayRecv = g
	if !c.client {
		return // the client opens no more streams; ours finish
	}
	// Streams above the last one were not processed and can be retried;
	// the others may finish.
	for id, s := range c.streams {
		if id > g.LastStreamID {
			c.closeStreamLocked(s, g)
		}
	}
	c.wakeSlotsLocked()
	if c.active == 0 {
		c.startFinishLocked()
	}
}
