package main

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// RTCP receiver reports as a browser sends them: about once a second (the
// interval drawn anew each time between 0.5x and 1.5x, RFC 3550 6.3.1, so
// a thousand peers do not fire together) one compound packet per peer: RR
// packet(s) with a report block for every SSRC it received from in the
// last rrStreamTimeout (at most 31 blocks per RR), then an SDES with the
// peer's CNAME. pion's own ReceiverInterceptor sends one RR packet per SSRC
// per second, all at the same tick, which is not what the SFUs see from
// the Calls clients.
//
// The per-packet cost is a lock and a few integer operations on fields
// read straight from the RTP header (no parsing into pion structures, no
// allocation); everything else happens once per report.

const (
	rrDefaultInterval = time.Second
	// A report block is left out once its source has been silent this long
	// (libwebrtc's kStatisticsTimeout): a paused consumer stops being
	// reported, as in a browser.
	rrStreamTimeout = 8 * time.Second
	// Largest compound datagram: libwebrtc's RTCP packet size limit. rtcd
	// reads 1460-byte datagrams, so one report of more sources than fit is
	// sent as several compound packets (each RR(s)+SDES), not one larger
	// datagram (48 blocks fit with a 16-character CNAME).
	rrMaxCompound = 1200
	rrMaxBlocks   = 31 // the 5-bit report count of an RR packet

	rtpMaxDropout  = 3000 // RFC 3550 A.1
	rtpMaxMisorder = 100
)

// rrFactory builds one rrInterceptor per PeerConnection.
type rrFactory struct{ interval time.Duration }

func (f rrFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return newRRInterceptor(f.interval), nil
}

type rrInterceptor struct {
	interceptor.NoOp
	interval time.Duration
	cname    string
	now      func() int64 // ns on a monotonic clock

	mu        sync.RWMutex
	streams   map[uint32]*rrStream
	localSSRC uint32 // the RR's sender SSRC: the first local stream's, else random
	haveLocal bool

	closeOnce sync.Once
	done      chan struct{}
	wg        sync.WaitGroup
}

func newRRInterceptor(interval time.Duration) *rrInterceptor {
	if interval <= 0 {
		interval = rrDefaultInterval
	}
	var c [12]byte
	for i := range c {
		c[i] = byte(rand.Uint32()) //nolint:gosec // a CNAME, not a secret
	}
	return &rrInterceptor{
		interval:  interval,
		cname:     base64.StdEncoding.EncodeToString(c[:]), // 16 characters, as libwebrtc's
		now:       nowNs,
		streams:   map[uint32]*rrStream{},
		localSSRC: rand.Uint32() | 1,
		done:      make(chan struct{}),
	}
}

// BindLocalStream only learns the SSRC the reports are sent from.
func (r *rrInterceptor) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	r.mu.Lock()
	if !r.haveLocal && info.SSRC != 0 {
		r.localSSRC, r.haveLocal = info.SSRC, true
	}
	r.mu.Unlock()
	return w
}

func (r *rrInterceptor) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	s := &rrStream{ssrc: info.SSRC, clockRate: clockRateOf(info)}
	r.mu.Lock()
	r.streams[info.SSRC] = s
	r.mu.Unlock()
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attr, err := reader.Read(b, a)
		if err == nil && n >= 12 && b[0]>>6 == 2 {
			s.packet(r.now(), binary.BigEndian.Uint16(b[2:4]), binary.BigEndian.Uint32(b[4:8]))
		}
		return n, attr, err
	})
}

func (r *rrInterceptor) UnbindRemoteStream(info *interceptor.StreamInfo) {
	r.mu.Lock()
	delete(r.streams, info.SSRC)
	r.mu.Unlock()
}

// BindRTCPReader notes the sender reports of the streams we receive (LSR,
// and when it came for the DLSR), scanning the compound packet in place.
func (r *rrInterceptor) BindRTCPReader(reader interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attr, err := reader.Read(b, a)
		if err == nil {
			forEachSR(b[:n], func(ssrc uint32, ntp uint64) {
				r.mu.RLock()
				s := r.streams[ssrc]
				r.mu.RUnlock()
				if s != nil {
					s.senderReport(r.now(), ntp)
				}
			})
		}
		return n, attr, err
	})
}

// forEachSR calls f with the sender SSRC and NTP time of every SR packet
// in a compound RTCP packet.
func forEachSR(b []byte, f func(ssrc uint32, ntp uint64)) {
	for len(b) >= 4 && b[0]>>6 == 2 {
		l := (int(binary.BigEndian.Uint16(b[2:4])) + 1) * 4
		if l > len(b) {
			return
		}
		if b[1] == uint8(rtcp.TypeSenderReport) && l >= 28 {
			f(binary.BigEndian.Uint32(b[4:8]), binary.BigEndian.Uint64(b[8:16]))
		}
		b = b[l:]
	}
}

func (r *rrInterceptor) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	r.wg.Add(1)
	go r.loop(w)
	return w
}

func (r *rrInterceptor) Close() error {
	r.closeOnce.Do(func() { close(r.done) })
	r.wg.Wait()
	return nil
}

// rrJitter is the next report interval: interval x [0.5, 1.5).
func rrJitter(interval time.Duration) time.Duration {
	return interval/2 + time.Duration(rand.Int64N(int64(interval)))
}

func (r *rrInterceptor) loop(w interceptor.RTCPWriter) {
	defer r.wg.Done()
	t := time.NewTimer(rrJitter(r.interval))
	defer t.Stop()
	for {
		select {
		case <-r.done:
			return
		case <-t.C:
		}
		// New blocks each time: a writer may keep the packets.
		blocks := r.reportBlocks(nil)
		r.mu.RLock()
		ssrc := r.localSSRC
		r.mu.RUnlock()
		for _, pkts := range compoundReports(ssrc, r.cname, blocks) {
			// Fails before DTLS is up and after close; the next report
			// follows anyway.
			_, _ = w.Write(pkts, interceptor.Attributes{})
		}
		t.Reset(rrJitter(r.interval))
	}
}

// reportBlocks appends a report block for every stream heard from in the
// last rrStreamTimeout.
func (r *rrInterceptor) reportBlocks(out []rtcp.ReceptionReport) []rtcp.ReceptionReport {
	now := r.now()
	r.mu.RLock()
	streams := make([]*rrStream, 0, len(r.streams))
	for _, s := range r.streams {
		streams = append(streams, s)
	}
	r.mu.RUnlock()
	for _, s := range streams {
		if b, ok := s.report(now); ok {
			out = append(out, b)
		}
	}
	return out
}

// compoundReports splits the blocks into compound packets of at most
// rrMaxCompound bytes: RR packets of at most 31 blocks each, then the SDES
// CNAME. Usually one compound packet; none without blocks.
func compoundReports(ssrc uint32, cname string, blocks []rtcp.ReceptionReport) [][]rtcp.Packet {
	if len(blocks) == 0 {
		return nil
	}
	sdes := &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{
		Source: ssrc,
		Items:  []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: cname}},
	}}}
	// header + SSRC + CNAME item + terminating null, padded to 32 bits.
	sdesLen := 8 + (2+len(cname)+1+3)/4*4
	var out [][]rtcp.Packet
	for len(blocks) > 0 {
		var pkts []rtcp.Packet
		room := rrMaxCompound - sdesLen
		for len(blocks) > 0 && room >= 8+24 {
			n := min(len(blocks), rrMaxBlocks, (room-8)/24)
			pkts = append(pkts, &rtcp.ReceiverReport{SSRC: ssrc, Reports: blocks[:n:n]})
			room -= 8 + 24*n
			blocks = blocks[n:]
		}
		out = append(out, append(pkts, sdes))
	}
	return out
}

// clockRateOf is the RTP clock rate of a stream: from its codec, else by
// kind (48 kHz opus, 90 kHz video).
func clockRateOf(info *interceptor.StreamInfo) uint32 {
	if info.ClockRate != 0 {
		return info.ClockRate
	}
	if strings.HasPrefix(strings.ToLower(info.MimeType), "audio/") {
		return 48000
	}
	return 90000
}

// rrStream is the reception statistics of one remote SSRC (RFC 3550 A.1,
// A.3, A.8).
type rrStream struct {
	ssrc      uint32
	clockRate uint32

	mu       sync.Mutex
	started  bool
	maxSeq   uint16
	cycles   uint32 // wrap-arounds of the sequence number, shifted: count << 16
	baseSeq  uint32
	badSeq   uint32 // RFC 3550 A.1: the sequence number after a large jump
	received uint32
	lastAt   int64 // arrival (ns) of the last packet

	// at the previous report
	expectedPrior uint32
	receivedPrior uint32

	// interarrival jitter, in timestamp units (RFC 3550 A.8), updated as
	// libwebrtc does: on in-order packets whose timestamp differs from
	// the previous one's (so a video frame's packets sent in a burst
	// count as one arrival).
	jitter   float64
	lastTS   uint32
	lastTSAt int64

	// the last sender report: middle 32 bits of its NTP time, and when it
	// came (0: none yet)
	lsr   uint32
	lsrAt int64
}

// packet counts one RTP packet that arrived at now (ns).
func (s *rrStream) packet(now int64, seq uint16, ts uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastAt = now
	if !s.started {
		s.restart(seq)
		s.started = true
		s.received = 1
		s.lastTS, s.lastTSAt = ts, now
		return
	}
	inOrder := false
	switch udelta := seq - s.maxSeq; {
	case udelta < rtpMaxDropout:
		if udelta == 0 {
			break // a duplicate
		}
		if seq < s.maxSeq {
			s.cycles += 1 << 16
		}
		s.maxSeq = seq
		inOrder = true
	case udelta <= 1<<16-rtpMaxMisorder:
		// A very large jump: the source restarted, or a stray packet.
		// Two in sequence restart the statistics (RFC 3550 A.1).
		if uint32(seq) != s.badSeq {
			s.badSeq = (uint32(seq) + 1) & 0xffff
			return
		}
		s.restart(seq)
		s.lastTS, s.lastTSAt = ts, now
	default:
		// a reordered or retransmitted older packet
	}
	s.received++
	if inOrder && ts != s.lastTS {
		// D(i-1,i) = (Rj - Ri) - (Sj - Si), arrival in timestamp units.
		arrival := float64(now-s.lastTSAt) * float64(s.clockRate) / 1e9
		d := arrival - float64(int32(ts-s.lastTS))
		if d < 0 {
			d = -d
		}
		s.jitter += (d - s.jitter) / 16
		s.lastTS, s.lastTSAt = ts, now
	}
}

// restart begins the sequence statistics at seq (the first packet, or
// after a restart of the source).
func (s *rrStream) restart(seq uint16) {
	s.baseSeq = uint32(seq)
	s.maxSeq = seq
	s.badSeq = 1 << 16 // none: above every 16-bit number
	s.cycles = 0
	s.received = 0
	s.expectedPrior, s.receivedPrior = 0, 0
}

// senderReport notes a sender report of this stream arriving at now.
func (s *rrStream) senderReport(now int64, ntp uint64) {
	s.mu.Lock()
	s.lsr, s.lsrAt = uint32(ntp>>16), now //nolint:gosec // the middle 32 bits
	s.mu.Unlock()
}

// report is the stream's report block at now (false: nothing received in
// the last rrStreamTimeout), and starts the next reporting interval.
func (s *rrStream) report(now int64) (rtcp.ReceptionReport, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started || now-s.lastAt > int64(rrStreamTimeout) {
		return rtcp.ReceptionReport{}, false
	}
	extMax := s.cycles + uint32(s.maxSeq)
	expected := extMax - s.baseSeq + 1
	lost := int64(expected) - int64(s.received)
	lost = max(-0x800000, min(0x7fffff, lost)) // 24-bit signed

	expectedInterval := expected - s.expectedPrior
	receivedInterval := s.received - s.receivedPrior
	s.expectedPrior, s.receivedPrior = expected, s.received
	var fraction uint8
	if lostInterval := int64(expectedInterval) - int64(receivedInterval); expectedInterval != 0 && lostInterval > 0 {
		fraction = uint8((lostInterval << 8) / int64(expectedInterval)) //nolint:gosec // < 256
	}

	var dlsr uint32
	if s.lsrAt != 0 {
		dlsr = uint32((now - s.lsrAt) * 65536 / 1e9) //nolint:gosec // 1/65536 s
	}
	return rtcp.ReceptionReport{
		SSRC:               s.ssrc,
		FractionLost:       fraction,
		TotalLost:          uint32(lost) & 0xffffff, //nolint:gosec // two's complement, 24 bits
		LastSequenceNumber: extMax,
		Jitter:             uint32(s.jitter),
		LastSenderReport:   s.lsr,
		Delay:              dlsr,
	}, true
}

// readReceiverRTCP reads what RTCP comes for one receiver (the SFU's
// sender reports of that stream, with the rest of their compound packet)
// until the receiver closes: pion's interceptors see only RTCP that is
// read, and the LSR/DLSR of the reports need the sender reports.
func readReceiverRTCP(r *webrtc.RTPReceiver) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := r.Read(buf); err != nil && !errors.Is(err, io.ErrShortBuffer) {
			return
		}
	}
}
