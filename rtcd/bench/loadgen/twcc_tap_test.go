package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

func rtpWithExt(t *testing.T, ssrc uint32, exts map[uint8][]byte, twoByte bool) []byte {
	t.Helper()
	h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 7, SSRC: ssrc}
	if twoByte {
		h.ExtensionProfile = rtp.ExtensionProfileTwoByte
	} else {
		h.ExtensionProfile = rtp.ExtensionProfileOneByte
	}
	for id, v := range exts {
		if err := h.SetExtension(id, v); err != nil {
			t.Fatal(err)
		}
	}
	b, err := (&rtp.Packet{Header: h, Payload: make([]byte, 20)}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTransportSequence(t *testing.T) {
	seq := func(n uint16) []byte { return binary.BigEndian.AppendUint16(nil, n) }
	for _, two := range []bool{false, true} {
		b := rtpWithExt(t, 1234, map[uint8][]byte{1: []byte("probator"), 5: seq(4242)}, two)
		ssrc, got, ok := transportSequence(b, []uint8{5})
		if !ok || ssrc != 1234 || got != 4242 {
			t.Fatalf("two-byte %v: got ssrc %d seq %d ok %v, want 1234 4242 true", two, ssrc, got, ok)
		}
		if _, _, ok := transportSequence(b, []uint8{3}); ok {
			t.Fatalf("two-byte %v: found a sequence number under an ID the packet does not carry", two)
		}
		for cut := 1; cut < len(b)-20; cut++ { // every truncation of the header: no panic, no number
			if _, _, ok := transportSequence(b[:cut], []uint8{5}); ok {
				t.Fatalf("two-byte %v: a header cut at %d bytes gave a sequence number", two, cut)
			}
		}
	}
	plain, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 9}, Payload: []byte{1}}).Marshal()
	if _, _, ok := transportSequence(plain, []uint8{5}); ok {
		t.Fatal("a packet without extensions gave a sequence number")
	}
	rr, _ := (&rtcp.ReceiverReport{SSRC: 9}).Marshal()
	if _, _, ok := transportSequence(rr, []uint8{5}); ok {
		t.Fatal("RTCP was read as RTP")
	}
	stun := []byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if _, _, ok := transportSequence(stun, []uint8{5}); ok {
		t.Fatal("STUN was read as RTP")
	}
}

func TestNegotiatedIDs(t *testing.T) {
	tap := newTWCCTap(nil)
	tap.negotiated("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=extmap:3 " + sdp.TransportCCURI + "\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=extmap:3 " + sdp.TransportCCURI + "\r\na=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n")
	if ids := *tap.ids.Load(); len(ids) != 1 || ids[0] != 3 {
		t.Fatalf("transport-cc IDs %v, want [3]", ids)
	}
}

// probeInterceptor sends, after every media packet, a padding packet on an
// SSRC no m-line declares, with MID "probator" and payload type 127: what
// mediasoup sends when it probes the path's bandwidth. Registered after
// the transport-cc header interceptor, so both get transport-cc numbers.
type probeInterceptor struct {
	interceptor.NoOp
	limit uint16 // probes to send; media packets after these go alone
	mu    sync.Mutex
	seqs  []uint16 // transport-cc numbers of the probes sent
}

// feedbackSpy is the first interceptor of the receiving peer: it sees the
// transport-cc feedback the peer sends, as it goes to the wire. (The
// sending pion could not show it: feedback names the SSRC of the last
// packet it covers, as Chromium's does, and pion hands RTCP only to the
// sender of the SSRC it names, never 1234; an SFU reads it per transport.)
type feedbackSpy struct {
	interceptor.NoOp
	feedback chan *rtcp.TransportLayerCC
}

func (f *feedbackSpy) NewInterceptor(string) (interceptor.Interceptor, error) { return f, nil }

func (f *feedbackSpy) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, a interceptor.Attributes) (int, error) {
		for _, p := range pkts {
			if fb, ok := p.(*rtcp.TransportLayerCC); ok {
				f.feedback <- fb
			}
		}
		return w.Write(pkts, a)
	})
}

func (p *probeInterceptor) NewInterceptor(string) (interceptor.Interceptor, error) { return p, nil }

func (p *probeInterceptor) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	var midID, tccID uint8
	for _, e := range info.RTPHeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			midID = uint8(e.ID)
		case sdp.TransportCCURI:
			tccID = uint8(e.ID)
		}
	}
	var probeSeq uint16
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		n, err := w.Write(h, payload, a)
		if err != nil || midID == 0 || tccID == 0 || probeSeq == p.limit {
			return n, err
		}
		probeSeq++
		probe := rtp.Header{Version: 2, PayloadType: 127, SequenceNumber: probeSeq, Timestamp: h.Timestamp, SSRC: 1234,
			Padding: true, PaddingSize: 200}
		_ = probe.SetExtension(midID, []byte("probator"))
		if _, err := w.Write(&probe, nil, nil); err == nil {
			if ext := probe.GetExtension(tccID); len(ext) >= 2 {
				p.mu.Lock()
				p.seqs = append(p.seqs, binary.BigEndian.Uint16(ext))
				p.mu.Unlock()
			}
		}
		return n, err
	})
}

// received expands transport-cc feedback into the sequence numbers it
// reports received and lost.
func received(fb *rtcp.TransportLayerCC, got, lost map[uint16]bool) {
	seq := fb.BaseSequenceNumber
	left := int(fb.PacketStatusCount)
	mark := func(symbol uint16) {
		if left == 0 {
			return
		}
		if symbol == rtcp.TypeTCCPacketNotReceived {
			lost[seq] = true
		} else {
			got[seq] = true
		}
		seq++
		left--
	}
	for _, c := range fb.PacketChunks {
		switch c := c.(type) {
		case *rtcp.RunLengthChunk:
			for i := 0; i < int(c.RunLength); i++ {
				mark(c.PacketStatusSymbol)
			}
		case *rtcp.StatusVectorChunk:
			for _, s := range c.SymbolList {
				mark(s)
			}
		}
	}
}

// A generator peer (newAPI, as every peer is built) receives video and, on
// the same transport, probes on an undeclared SSRC, as mediasoup sends
// them. pion drops the probes unread; its feedback (webrtc.ConfigureTWCCSender)
// reported them lost. The peer's feedback must report every one received.
func TestFeedbackAcknowledgesUndeclaredProbes(t *testing.T) {
	if testing.Short() {
		t.Skip("opens two peer connections")
	}
	lo := net.IPv4(127, 0, 0, 1)
	// A window open through the test: the tap counts the probes in it.
	win := &window{}
	win.start.Store(max(nowNs(), 1))
	win.end.Store(math.MaxInt64)
	rxTap := newTWCCTap(win)
	spy := &feedbackSpy{feedback: make(chan *rtcp.TransportLayerCC, 1024)}
	rxAPI, err := newAPI(lo, rxTap, spy)
	if err != nil {
		t.Fatal(err)
	}
	// The sender: VP8 with transport-cc numbers on everything it sends, and the probes.
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBTransportCC}}}, PayloadType: 96},
		webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	for _, uri := range []string{sdp.SDESMidURI, sdp.TransportCCURI} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo); err != nil {
			t.Fatal(err)
		}
	}
	var ir interceptor.Registry
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(m, &ir); err != nil {
		t.Fatal(err)
	}
	const frames = 50
	probes := &probeInterceptor{limit: frames}
	ir.Add(probes)
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(lo) })
	txAPI := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(&ir), webrtc.WithSettingEngine(se))

	tx, rx := peers(t, txAPI, rxAPI)
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "v", "s")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := tx.AddTrack(track)
	if err != nil {
		t.Fatal(err)
	}
	rx.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
		}
	})
	connected := make(chan struct{})
	var once sync.Once
	tx.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	negotiate(t, tx, rx)
	rxTap.negotiated(tx.LocalDescription().SDP) // as peer.handle does

	go drainRTCP(sender, "", nil)

	// Once DTLS is up (SRTP drops what is written before), 50 frames of one
	// packet each, each followed by a probe, then the feedback until it has
	// covered every probe.
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatalf("not connected in 10 s: %s", tx.ConnectionState())
	}
	// One more media packet after the last probe: feedback covers a number
	// (received or lost) once a later one has arrived.
	for i := 1; i <= frames+1; i++ {
		if err := track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(i),
			Timestamp: uint32(i) * 3000, Marker: true}, Payload: make([]byte, 300)}); err != nil {
			t.Fatal(err)
		}
	}
	got, lost := map[uint16]bool{}, map[uint16]bool{}
	deadline := time.After(10 * time.Second)
	for {
		probes.mu.Lock()
		seqs := append([]uint16(nil), probes.seqs...)
		probes.mu.Unlock()
		covered := len(seqs) == frames
		for _, s := range seqs {
			covered = covered && (got[s] || lost[s])
		}
		if covered {
			var missing []uint16
			for _, s := range seqs {
				if !got[s] {
					missing = append(missing, s)
				}
			}
			if len(missing) > 0 {
				t.Fatalf("feedback reported %d of %d probes lost (transport-cc numbers %v); media packets received: %d",
					len(missing), len(seqs), missing, len(got))
			}
			// Every probe is acknowledged, so every one has come through the
			// tap: the benchmark's count of them.
			if n, b := rxTap.probes.packets.Load(), rxTap.probes.bytes.Load(); n != frames || b < frames*200 {
				t.Fatalf("the tap counted %d probes (%d bytes) of %d sent", n, b, frames)
			}
			return
		}
		select {
		case fb := <-spy.feedback:
			received(fb, got, lost)
		case <-deadline:
			t.Fatal(fmt.Sprintf("no feedback covering the %d probes sent (%d so far) in 10 s: %d numbers reported received, %d lost",
				frames, len(seqs), len(got), len(lost)))
		}
	}
}
