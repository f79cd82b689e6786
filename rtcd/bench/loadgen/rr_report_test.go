package main

// The reports themselves: compound packets (RR(s) + SDES), the report
// interval, and the interceptor end to end. The per-stream statistics are
// in rr_test.go.

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

func blocks(n int) []rtcp.ReceptionReport {
	out := make([]rtcp.ReceptionReport, n)
	for i := range out {
		out[i].SSRC = uint32(i + 1)
	}
	return out
}

// checkCompound marshals one compound packet as pion does and checks it
// starts with RR(s) and carries the SDES CNAME.
func checkCompound(t *testing.T, pkts []rtcp.Packet, cname string) (nBlocks int) {
	t.Helper()
	raw, err := rtcp.Marshal(pkts)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > rrMaxCompound {
		t.Fatalf("compound of %d bytes", len(raw))
	}
	back, err := rtcp.Unmarshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := back[0].(*rtcp.ReceiverReport); !ok {
		t.Fatalf("compound starts with %T", back[0])
	}
	found := false
	for _, p := range back {
		switch p := p.(type) {
		case *rtcp.ReceiverReport:
			if len(p.Reports) > rrMaxBlocks {
				t.Fatalf("RR of %d blocks", len(p.Reports))
			}
			nBlocks += len(p.Reports)
		case *rtcp.SourceDescription:
			for _, c := range p.Chunks {
				for _, it := range c.Items {
					found = found || (it.Type == rtcp.SDESCNAME && it.Text == cname)
				}
			}
		default:
			t.Fatalf("unexpected %T", p)
		}
	}
	if !found {
		t.Fatal("no SDES CNAME")
	}
	return nBlocks
}

func TestRRCompoundSplitting(t *testing.T) {
	cname := "abcdefghijklmnop"
	if out := compoundReports(1, cname, nil); len(out) != 0 {
		t.Fatalf("%d compounds without blocks", len(out))
	}
	for _, c := range []struct{ blocks, compounds, firstRRs int }{
		{1, 1, 1}, {31, 1, 1}, {32, 1, 2}, {40, 1, 2}, {48, 1, 2}, {49, 2, 2}, {100, 3, 2},
	} {
		out := compoundReports(99, cname, blocks(c.blocks))
		if len(out) != c.compounds {
			t.Fatalf("%d blocks: %d compounds, want %d", c.blocks, len(out), c.compounds)
		}
		if rrs := len(out[0]) - 1; rrs != c.firstRRs {
			t.Fatalf("%d blocks: %d RRs in the first compound, want %d", c.blocks, rrs, c.firstRRs)
		}
		total := 0
		seen := map[uint32]bool{}
		for _, pkts := range out {
			total += checkCompound(t, pkts, cname)
			for _, p := range pkts {
				if rr, ok := p.(*rtcp.ReceiverReport); ok {
					if rr.SSRC != 99 {
						t.Fatalf("RR from %d", rr.SSRC)
					}
					for _, b := range rr.Reports {
						seen[b.SSRC] = true
					}
				}
			}
		}
		if total != c.blocks || len(seen) != c.blocks {
			t.Fatalf("%d blocks: %d reported (%d distinct)", c.blocks, total, len(seen))
		}
	}
}

func TestRRJitterOfInterval(t *testing.T) {
	for i := 0; i < 1000; i++ {
		if d := rrJitter(time.Second); d < 500*time.Millisecond || d >= 1500*time.Millisecond {
			t.Fatalf("interval %s", d)
		}
	}
}

// rtpBytes is a minimal RTP packet.
func rtpBytes(seq uint16, ts uint32) []byte {
	b := make([]byte, 20)
	b[0] = 0x80
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	return b
}

type captureWriter struct {
	mu     sync.Mutex
	writes [][]rtcp.Packet
}

func (c *captureWriter) Write(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, pkts)
	return 0, nil
}

func (c *captureWriter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.writes)
}

// The interceptor end to end: RTP read through it, an SR read through it,
// then one Write per tick with the RR of the received SSRCs (from the local
// SSRC) and the SDES; an unbound stream is forgotten; Close stops it.
func TestRRInterceptor(t *testing.T) {
	r := newRRInterceptor(20 * time.Millisecond)
	r.BindLocalStream(&interceptor.StreamInfo{SSRC: 555}, nil)
	r.BindLocalStream(&interceptor.StreamInfo{SSRC: 556}, nil)
	feed := func(info *interceptor.StreamInfo, pkts ...[]byte) {
		i := 0
		rd := r.BindRemoteStream(info, interceptor.RTPReaderFunc(
			func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
				n := copy(b, pkts[i])
				i++
				return n, a, nil
			}))
		buf := make([]byte, 1500)
		for range pkts {
			if _, _, err := rd.Read(buf, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	audio := &interceptor.StreamInfo{SSRC: 1001, MimeType: "audio/opus", ClockRate: 48000}
	video := &interceptor.StreamInfo{SSRC: 1002, MimeType: "video/VP8", ClockRate: 90000}
	feed(audio, rtpBytes(10, 0), rtpBytes(11, 960), rtpBytes(13, 2880)) // 12 lost
	feed(video, rtpBytes(7, 0))
	r.BindRemoteStream(&interceptor.StreamInfo{SSRC: 1003}, nil) // bound, nothing received

	sr, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.SenderReport{SSRC: 1002, NTPTime: 0x0000123456780000}})
	rr := r.BindRTCPReader(interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, sr), a, nil
	}))
	if _, _, err := rr.Read(make([]byte, 1500), nil); err != nil {
		t.Fatal(err)
	}

	w := &captureWriter{}
	r.BindRTCPWriter(w)
	deadline := time.Now().Add(2 * time.Second)
	for w.count() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if w.count() < 2 {
		t.Fatalf("%d writes after 2 s", w.count())
	}
	w.mu.Lock()
	first := w.writes[0]
	w.mu.Unlock()
	if checkCompound(t, first, r.cname) != 2 {
		t.Fatalf("first report: %v", first)
	}
	got := map[uint32]rtcp.ReceptionReport{}
	for _, b := range first[0].(*rtcp.ReceiverReport).Reports {
		got[b.SSRC] = b
	}
	if first[0].(*rtcp.ReceiverReport).SSRC != 555 {
		t.Fatalf("RR from %d, want the first local SSRC 555", first[0].(*rtcp.ReceiverReport).SSRC)
	}
	if a := got[1001]; a.TotalLost != 1 || a.LastSequenceNumber != 13 || a.FractionLost != 64 {
		t.Fatalf("audio block %+v", a)
	}
	if v := got[1002]; v.LastSenderReport != 0x12345678 || v.LastSequenceNumber != 7 {
		t.Fatalf("video block %+v", v)
	}

	r.UnbindRemoteStream(video)
	// A report being built as the stream was unbound may still carry it;
	// the one after must not.
	n := w.count() + 2
	for w.count() < n && time.Now().Before(deadline.Add(time.Second)) {
		time.Sleep(5 * time.Millisecond)
	}
	w.mu.Lock()
	last := w.writes[len(w.writes)-1]
	w.mu.Unlock()
	if rrs := last[0].(*rtcp.ReceiverReport).Reports; len(rrs) != 1 || rrs[0].SSRC != 1001 {
		t.Fatalf("after unbinding the video: %+v", rrs)
	}

	// Close returns once the report loop has ended: no report can follow.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// Reading RTP through the interceptor allocates nothing.
func TestRRNoAllocationPerPacket(t *testing.T) {
	r := newRRInterceptor(time.Hour)
	pkt := rtpBytes(1, 0)
	rd := r.BindRemoteStream(&interceptor.StreamInfo{SSRC: 1, ClockRate: 90000}, interceptor.RTPReaderFunc(
		func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
			binary.BigEndian.PutUint16(pkt[2:], binary.BigEndian.Uint16(pkt[2:])+1)
			binary.BigEndian.PutUint32(pkt[4:], binary.BigEndian.Uint32(pkt[4:])+3000)
			return copy(b, pkt), a, nil
		}))
	buf := make([]byte, 1500)
	if n := testing.AllocsPerRun(1000, func() { _, _, _ = rd.Read(buf, nil) }); n != 0 {
		t.Fatalf("%.1f allocations per packet", n)
	}
}
