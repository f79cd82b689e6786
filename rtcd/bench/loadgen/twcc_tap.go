package main

import (
	"encoding/binary"
	"math/rand/v2"
	"net"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v4"
)

// Transport-wide congestion control feedback from every RTP packet the
// peer's socket receives, as Chromium gives it: its receive-side bandwidth
// estimation is told of each packet before the packet is demultiplexed to
// a stream. pion's own transport-cc interceptor sees only packets of a
// stream it hands to a track. mediasoup probes the path with padding on
// SSRC 1234, MID "probator", which no m-line declares: pion drops those
// unread ("Incoming unhandled RTP ssrc(1234)"), its feedback reported every
// probe lost, mediasoup's bandwidth estimate never grew past what it was
// sending, and ours never sent a viewer a simulcast sender's high layer in
// the benchmark (Chromium, in rtcd/test/simulcast.int.test.ts, gets it).
//
// The transport-cc sequence number is in the RTP header, which SRTP leaves
// in the clear, so the tap reads it from the datagram as it arrives; the
// feedback goes out through the peer connection (SRTCP), every
// twccInterval, as pion's interceptor sends it.

const twccInterval = 100 * time.Millisecond // pion's and libwebrtc's default

// twccTap belongs to one peer connection: its sockets feed it, its
// interceptor (NewInterceptor, called once per connection) sends feedback.
type twccTap struct {
	ids   atomic.Pointer[[]uint8] // transport-cc header extension IDs negotiated, nil before
	start time.Time
	// mediasoup's bandwidth probes that arrived inside win: padding the SFU
	// sends (and pays for) on top of the media it delivers.
	win    *window
	probes probeCount

	mu  sync.Mutex
	rec *twcc.Recorder
}

func newTWCCTap(win *window) *twccTap {
	// The feedback's sender SSRC: random, as pion's interceptor picks it.
	return &twccTap{start: time.Now(), win: win, rec: twcc.NewRecorder(rand.Uint32())} // #nosec G404 -- an SSRC, not a secret
}

// probationSSRC is the SSRC of mediasoup's probation packets (its
// RTP::ProbationGenerator, MID "probator"): padding, no media.
const probationSSRC = 1234

// probeCount is what a receiver got of probation packets, in datagrams and
// bytes as they came off the socket (SRTP included).
type probeCount struct {
	packets atomic.Int64
	bytes   atomic.Int64
}

var transportCCExtmap = regexp.MustCompile(`(?m)^a=extmap:(\d+)(?:/\w+)? ` + regexp.QuoteMeta(sdp.TransportCCURI) + `\s*$`)

// negotiated takes the transport-cc extension IDs from a remote description
// (every m-line's; BUNDLE keeps one ID per URI, but nothing here relies on it).
func (t *twccTap) negotiated(remoteSDP string) {
	var ids []uint8
	for _, m := range transportCCExtmap.FindAllStringSubmatch(remoteSDP, -1) {
		id, err := strconv.Atoi(m[1])
		if err != nil || id < 1 || id > 255 {
			continue
		}
		if !slices.Contains(ids, uint8(id)) {
			ids = append(ids, uint8(id))
		}
	}
	t.ids.Store(&ids)
}

// observe records one datagram's arrival if it is RTP with a transport-cc
// sequence number.
func (t *twccTap) observe(b []byte, at time.Time) {
	ids := t.ids.Load()
	if ids == nil {
		return
	}
	ssrc, seq, ok := transportSequence(b, *ids)
	if !ok {
		return
	}
	if ssrc == probationSSRC && t.win != nil && t.win.contains(nowNs()) {
		t.probes.packets.Add(1)
		t.probes.bytes.Add(int64(len(b)))
	}
	t.mu.Lock()
	t.rec.Record(ssrc, seq, at.Sub(t.start).Microseconds())
	t.mu.Unlock()
}

// feedback is the transport-cc feedback for what arrived since the last call.
func (t *twccTap) feedback() []rtcp.Packet {
	t.mu.Lock()
	defer t.mu.Unlock()
	// Packets recorded since the last feedback (the recorder counts them and
	// resets the count as it builds): none, no feedback.
	if t.rec.PacketsHeld() == 0 {
		return nil
	}
	return t.rec.BuildFeedbackPacket()
}

// transportSequence reads the SSRC and the transport-cc sequence number of
// an RTP datagram (RFC 3550 header, RFC 8285 one- or two-byte extensions).
// RTCP (RFC 5761: second byte 192-223), STUN and DTLS are not RTP.
func transportSequence(b []byte, ids []uint8) (ssrc uint32, seq uint16, ok bool) {
	if len(b) < 12 || b[0]>>6 != 2 || (b[1] >= 192 && b[1] <= 223) || b[0]&0x10 == 0 {
		return 0, 0, false
	}
	ssrc = binary.BigEndian.Uint32(b[8:12])
	off := 12 + 4*int(b[0]&0x0f)
	if len(b) < off+4 {
		return 0, 0, false
	}
	profile := binary.BigEndian.Uint16(b[off:])
	end := off + 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
	if len(b) < end {
		return 0, 0, false
	}
	oneByte := profile == 0xBEDE
	if !oneByte && profile&0xFFF0 != 0x1000 {
		return 0, 0, false
	}
	for i := off + 4; i < end; {
		var id uint8
		var n int
		if oneByte {
			if b[i] == 0 { // padding
				i++
				continue
			}
			id, n = b[i]>>4, int(b[i]&0x0f)+1
			if id == 15 { // reserved: stop parsing (RFC 8285 4.2)
				return 0, 0, false
			}
			i++
		} else {
			if b[i] == 0 {
				i++
				continue
			}
			if i+1 >= end {
				return 0, 0, false
			}
			id, n = b[i], int(b[i+1])
			i += 2
		}
		if i+n > end {
			return 0, 0, false
		}
		for _, want := range ids {
			if id == want && n >= 2 {
				return ssrc, binary.BigEndian.Uint16(b[i:]), true
			}
		}
		i += n
	}
	return 0, 0, false
}

// NewInterceptor makes the tap the connection's transport-cc feedback sender.
func (t *twccTap) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &twccTapInterceptor{tap: t, done: make(chan struct{})}, nil
}

type twccTapInterceptor struct {
	interceptor.NoOp
	tap  *twccTap
	once sync.Once
	done chan struct{}
	wg   sync.WaitGroup
}

func (i *twccTapInterceptor) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	i.wg.Add(1)
	go func() {
		defer i.wg.Done()
		tick := time.NewTicker(twccInterval)
		defer tick.Stop()
		for {
			select {
			case <-i.done:
				return
			case <-tick.C:
				if pkts := i.tap.feedback(); len(pkts) > 0 {
					_, _ = w.Write(pkts, nil) // the connection closing ends this loop next
				}
			}
		}
	}()
	return w
}

func (i *twccTapInterceptor) Close() error {
	i.once.Do(func() { close(i.done) })
	i.wg.Wait()
	return nil
}

// tapConn hands every datagram it reads to the tap, with its arrival time.
type tapConn struct {
	transport.UDPConn
	tap *twccTap
}

func (c tapConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.UDPConn.ReadFrom(b)
	if n > 0 {
		c.tap.observe(b[:n], time.Now())
	}
	return n, addr, err
}
