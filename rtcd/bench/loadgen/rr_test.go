package main

// The per-stream reception statistics of rr.go (RFC 3550 A.1, A.3, A.8);
// the compound reports and the interceptor are in rr_report_test.go.

import (
	"math"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

const ms = int64(time.Millisecond)

func newTestStream(clockRate uint32) *rrStream { return &rrStream{ssrc: 42, clockRate: clockRate} }

func mustReport(t *testing.T, s *rrStream, now int64) rtcp.ReceptionReport {
	t.Helper()
	b, ok := s.report(now)
	if !ok {
		t.Fatal("no report block")
	}
	return b
}

func TestRRSequenceWrap(t *testing.T) {
	s := newTestStream(90000)
	var now int64 = 1
	seq := uint16(65530)
	for i := 0; i < 12; i++ { // 65530..65535, 0..5
		s.packet(now, seq, uint32(i)*3000)
		seq++
		now += 33 * ms
	}
	b := mustReport(t, s, now)
	if want := uint32(1<<16 | 5); b.LastSequenceNumber != want {
		t.Fatalf("extended highest %#x, want %#x", b.LastSequenceNumber, want)
	}
	if b.TotalLost != 0 || b.FractionLost != 0 {
		t.Fatalf("lost %d fraction %d, want 0", b.TotalLost, b.FractionLost)
	}
	// A late packet from before the wrap neither counts a cycle nor moves
	// the highest number, but counts as received (RFC 3550 A.1): lost -1.
	s.packet(now, 65534, 4*3000)
	b = mustReport(t, s, now)
	if b.LastSequenceNumber != 1<<16|5 {
		t.Fatalf("reordered packet moved the highest to %#x", b.LastSequenceNumber)
	}
	if b.TotalLost != 0xffffff { // -1 in 24-bit two's complement
		t.Fatalf("lost %#x, want 0xffffff (-1)", b.TotalLost)
	}
	// Several wraps.
	s = newTestStream(90000)
	for i := 0; i < 3*65536+10; i++ {
		s.packet(int64(i)*ms, uint16(i), uint32(i))
	}
	if b = mustReport(t, s, 3*65536*ms); b.LastSequenceNumber != 3<<16|9 || b.TotalLost != 0 {
		t.Fatalf("after 3 wraps: highest %#x lost %d", b.LastSequenceNumber, b.TotalLost)
	}
}

func TestRRLossAndFractionLost(t *testing.T) {
	s := newTestStream(48000)
	var now int64 = 1
	recv := func(from, to int, skip func(int) bool) {
		for i := from; i < to; i++ {
			now += 20 * ms
			if !skip(i) {
				s.packet(now, uint16(1000+i), uint32(i*960))
			}
		}
	}
	// 100 expected, 10 lost (every tenth, never the first or the last).
	recv(0, 100, func(i int) bool { return i%10 == 5 })
	b := mustReport(t, s, now)
	if b.TotalLost != 10 || b.FractionLost != 10*256/100 {
		t.Fatalf("lost %d fraction %d, want 10 and %d", b.TotalLost, b.FractionLost, 10*256/100)
	}
	// Nothing lost in the next interval: the fraction is per interval,
	// the total is cumulative.
	recv(100, 200, func(int) bool { return false })
	if b = mustReport(t, s, now); b.TotalLost != 10 || b.FractionLost != 0 {
		t.Fatalf("lost %d fraction %d, want 10 and 0", b.TotalLost, b.FractionLost)
	}
	// Half of the next 50 lost: 128/256.
	recv(200, 250, func(i int) bool { return i%2 == 0 && i != 249 })
	if b = mustReport(t, s, now); b.TotalLost != 35 || b.FractionLost != 128 {
		t.Fatalf("lost %d fraction %d, want 35 and 128", b.TotalLost, b.FractionLost)
	}
	// An interval with no new packet: fraction 0, total unchanged.
	if b = mustReport(t, s, now); b.TotalLost != 35 || b.FractionLost != 0 {
		t.Fatalf("empty interval: lost %d fraction %d", b.TotalLost, b.FractionLost)
	}
	// Duplicates make the interval's loss negative: fraction 0.
	s.packet(now, 1249, 249*960)
	s.packet(now, 1249, 249*960)
	if b = mustReport(t, s, now); b.TotalLost != 33 || b.FractionLost != 0 {
		t.Fatalf("duplicates: lost %d fraction %d, want 33 and 0", b.TotalLost, b.FractionLost)
	}
}

func TestRRLossClampedTo24Bits(t *testing.T) {
	s := newTestStream(90000)
	s.packet(1, 0, 0)
	s.cycles = 200 << 16 // 13 million expected, 1 received
	if b := mustReport(t, s, 1); b.TotalLost != 0x7fffff {
		t.Fatalf("lost %#x, want 0x7fffff", b.TotalLost)
	}
	s.cycles = 0
	s.received = 10_000_000 // far more than expected
	if b := mustReport(t, s, 1); b.TotalLost != 0x800000 {
		t.Fatalf("lost %#x, want 0x800000 (-2^23)", b.TotalLost)
	}
	// The values marshal (pion refuses a total of 25 bits or more).
	if _, err := (&rtcp.ReceiverReport{Reports: []rtcp.ReceptionReport{mustReport(t, s, 1)}}).Marshal(); err != nil {
		t.Fatal(err)
	}
}

func TestRRRestartAfterLargeJump(t *testing.T) {
	s := newTestStream(90000)
	for i := 0; i < 10; i++ {
		s.packet(int64(i)*ms, uint16(100+i), 0)
	}
	// One stray packet far ahead is ignored...
	s.packet(10*ms, 40000, 0)
	if b := mustReport(t, s, 10*ms); b.LastSequenceNumber != 109 || b.TotalLost != 0 {
		t.Fatalf("stray: highest %d lost %d", b.LastSequenceNumber, b.TotalLost)
	}
	// ...two in sequence restart the statistics there.
	s.packet(11*ms, 40000, 0)
	s.packet(12*ms, 40001, 0)
	if b := mustReport(t, s, 12*ms); b.LastSequenceNumber != 40001 || b.TotalLost != 0 {
		t.Fatalf("restart: highest %d lost %d", b.LastSequenceNumber, b.TotalLost)
	}
}

// The jitter of a synthetic pattern against RFC 3550 A.8 computed from the
// transit times (the implementation works on differences).
func TestRRJitter(t *testing.T) {
	for _, rate := range []uint32{48000, 90000} {
		s := newTestStream(rate)
		perFrame := rate / 25 // 40 ms
		var j, lastTransit float64
		for i := 0; i < 200; i++ {
			delay := int64(0)
			if i%2 == 1 {
				delay = 10 * ms // every other frame 10 ms late
			}
			if i%7 == 3 {
				delay += 3 * ms
			}
			sent := int64(i) * 40 * ms
			ts := uint32(0xfffff000) + uint32(i)*perFrame // wraps the timestamp too
			arrival := sent + delay
			// a video frame's further packets: same timestamp, a burst
			// right after the first; they do not move the jitter
			s.packet(arrival, uint16(3*i), ts)
			s.packet(arrival+ms/10, uint16(3*i+1), ts)
			s.packet(arrival+ms/5, uint16(3*i+2), ts)

			transit := float64(arrival)*float64(rate)/1e9 - float64(uint64(0xfffff000)+uint64(i)*uint64(perFrame))
			if i > 0 {
				j += (math.Abs(transit-lastTransit) - j) / 16
			}
			lastTransit = transit
		}
		b := mustReport(t, s, 200*40*ms)
		if math.Abs(float64(b.Jitter)-j) > 1 {
			t.Fatalf("%d Hz: jitter %d, want %.1f", rate, b.Jitter, j)
		}
		// ~10 ms in timestamp units, once converged
		if want := 0.010 * float64(rate); math.Abs(float64(b.Jitter)-want) > 0.25*want {
			t.Fatalf("%d Hz: jitter %d, want about %.0f", rate, b.Jitter, want)
		}
	}
	// Arrivals exactly on time: no jitter.
	s := newTestStream(90000)
	for i := 0; i < 50; i++ {
		s.packet(int64(i)*40*ms, uint16(i), uint32(i)*3600)
	}
	if b := mustReport(t, s, 2000*ms); b.Jitter != 0 {
		t.Fatalf("steady: jitter %d", b.Jitter)
	}
}

func TestRRClockRate(t *testing.T) {
	for _, c := range []struct {
		info interceptor.StreamInfo
		want uint32
	}{
		{interceptor.StreamInfo{MimeType: "audio/opus", ClockRate: 48000}, 48000},
		{interceptor.StreamInfo{MimeType: "video/VP8", ClockRate: 90000}, 90000},
		{interceptor.StreamInfo{MimeType: "audio/opus"}, 48000},
		{interceptor.StreamInfo{MimeType: "video/VP8"}, 90000},
	} {
		if got := clockRateOf(&c.info); got != c.want {
			t.Errorf("%+v: %d, want %d", c.info, got, c.want)
		}
	}
}

func TestRRLSRAndDLSR(t *testing.T) {
	s := newTestStream(90000)
	s.packet(1, 1, 1)
	if b := mustReport(t, s, 2); b.LastSenderReport != 0 || b.Delay != 0 {
		t.Fatalf("no SR yet: LSR %#x DLSR %d", b.LastSenderReport, b.Delay)
	}
	s.senderReport(500*ms, 0x1122334455667788)
	b := mustReport(t, s, 2000*ms) // 1.5 s later
	if b.LastSenderReport != 0x33445566 {
		t.Fatalf("LSR %#x, want 0x33445566", b.LastSenderReport)
	}
	if b.Delay != 98304 { // 1.5 * 65536
		t.Fatalf("DLSR %d, want 98304", b.Delay)
	}
	// The SR is found in a compound packet as it arrives.
	raw, err := rtcp.Marshal([]rtcp.Packet{
		&rtcp.SenderReport{SSRC: 7, NTPTime: 0xaabbccdd00112233, Reports: []rtcp.ReceptionReport{{SSRC: 1}}},
		&rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: 7,
			Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "x"}}}}},
		&rtcp.SenderReport{SSRC: 8, NTPTime: 0x0102030405060708},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	forEachSR(raw, func(ssrc uint32, ntp uint64) { got = append(got, uint64(ssrc), ntp) })
	if want := []uint64{7, 0xaabbccdd00112233, 8, 0x0102030405060708}; len(got) != 4 || got[0] != want[0] ||
		got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Fatalf("SRs %x, want %x", got, want)
	}
	forEachSR(raw[:len(raw)-4], func(uint32, uint64) {}) // truncated: no panic
}

func TestRRTimeout(t *testing.T) {
	s := newTestStream(48000)
	s.packet(1, 1, 1)
	if _, ok := s.report(int64(rrStreamTimeout)); !ok {
		t.Fatal("no block within the timeout")
	}
	if _, ok := s.report(int64(rrStreamTimeout) + 2); ok {
		t.Fatal("a block for a source silent longer than the timeout")
	}
	if _, ok := newTestStream(48000).report(1); ok {
		t.Fatal("a block for a source never heard")
	}
}
