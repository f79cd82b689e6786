package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v4"
	"github.com/pion/transport/v4/stdnet"
	"github.com/pion/webrtc/v4"
)

const audioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

// newAPI builds a peer's pion API (one each: its sockets and its
// transport-cc feedback share tap): the codecs and header
// extensions the Calls client offers (opus 111, VP8 96 with NACK/PLI and
// transport-cc, mid, rid, audio level); NACK, sender and receiver reports
// and transport-cc feedback, and transport-cc sequence numbers on what we
// send, as a browser does, so both SFUs run their congestion control. ICE on UDP
// from the one local address that routes to the SFU (loopback for a local
// SFU, as the benchmarks run; the node's bridge for rtcd on a real node of
// the local cluster): a single host candidate, none that cannot work.
//
// Interceptors in inner come first in the chain, so the RTCP every other
// one writes passes through them (a test reads the feedback there).
func newAPI(local net.IP, tap *twccTap, inner ...interceptor.Factory) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType: 111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}},
		PayloadType: 96,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	for _, e := range []struct {
		uri  string
		kind webrtc.RTPCodecType
	}{
		{sdp.SDESMidURI, webrtc.RTPCodecTypeAudio},
		{audioLevelURI, webrtc.RTPCodecTypeAudio},
	} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: e.uri}, e.kind); err != nil {
			return nil, err
		}
	}
	// pion's defaults except its receiver reports (one RR packet per
	// received SSRC each second, all at the same tick: with ours' consumer
	// per participant that was ~50 RTCP packets per receiver per second in
	// bursts, overflowing the SFU's socket buffer). Instead rrFactory (rr.go)
	// sends what a browser sends: about once a second, at a randomised
	// moment, one compound packet per peer, RR(s) with a report block per
	// received SSRC (loss, jitter, LSR/DLSR) and an SDES CNAME. Receivers
	// also send transport-cc feedback and NACK/PLI.
	var ir interceptor.Registry
	for _, f := range inner {
		ir.Add(f)
	}
	if err := webrtc.ConfigureNack(m, &ir); err != nil {
		return nil, err
	}
	sr, err := report.NewSenderInterceptor()
	if err != nil {
		return nil, err
	}
	ir.Add(sr)
	ir.Add(rrFactory{interval: rrDefaultInterval})
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		return nil, err
	}
	// transport-cc feedback from tap (twcc_tap.go) instead of pion's
	// interceptor, negotiated as pion's ConfigureTWCCSender negotiates it.
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		m.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, kind)
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
			return nil, err
		}
	}
	ir.Add(tap)
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(m, &ir); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(local.IsLoopback())
	se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(local) })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	se.SetNet(bigBufferNet{n, tap})
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(&ir), webrtc.WithSettingEngine(se)), nil
}

// localIPFor is this machine's address on the route to the SFU at baseURL
// (a UDP "connect" sends nothing; the kernel only picks the source address).
func localIPFor(baseURL string) (net.IP, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	c, err := net.Dial("udp4", net.JoinHostPort(u.Hostname(), "9"))
	if err != nil {
		return nil, fmt.Errorf("no route to %s: %w", u.Hostname(), err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP, nil
}

// peerSocketBuffer is the receive (and send) buffer each peer's UDP socket
// asks for. With the kernel's default (~208 KB) the generator's own sockets
// overflowed when the machine was busy, and its loss was counted against
// the SFU; 1 MiB keeps the generator out of the loss figures (the drops of
// the generator's and the SFU's sockets are reported apart).
const peerSocketBuffer = 1 << 20

// bigBufferNet makes the peer's sockets, each read through its twccTap.
type bigBufferNet struct {
	transport.Net
	tap *twccTap
}

func (n bigBufferNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	_ = c.SetReadBuffer(peerSocketBuffer)
	_ = c.SetWriteBuffer(peerSocketBuffer)
	return tapConn{c, n.tap}, nil
}

// peer is one simulated participant: a pion PeerConnection signaling
// through the shared plugin connection. All signaling of a peer runs on
// its own goroutine (loop), so our offers never race rtcd's.
type peer struct {
	g         *gen
	index     uint32
	call      int
	callID    string
	sessionID string
	pc        *webrtc.PeerConnection
	tap       *twccTap
	in        *mailbox
	ops       chan func() error
	answered  chan struct{} // one value per answer to an offer of ours
	connected chan struct{}
	connOnce  sync.Once
	early     []webrtc.ICECandidateInit // candidates that came before the remote description
	errMu     sync.Mutex
	errs      []string
	joinMs    float64

	audioTrack *webrtc.TrackLocalStaticRTP
	audioTx    *webrtc.RTPTransceiver
	screenTx   *webrtc.RTPTransceiver
	screenH    *webrtc.TrackLocalStaticRTP
	screenL    *webrtc.TrackLocalStaticRTP
	rx         rxState
}

func newPeer(g *gen, index uint32, call int, callID, sessionID string) (*peer, error) {
	tap := newTWCCTap(&g.win)
	api, err := newAPI(g.local, tap)
	if err != nil {
		return nil, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{SDPSemantics: webrtc.SDPSemanticsUnifiedPlan})
	if err != nil {
		return nil, err
	}
	p := &peer{g: g, index: index, call: call, callID: callID, sessionID: sessionID, pc: pc, tap: tap,
		in: g.conn.route(sessionID), ops: make(chan func() error, 4), answered: make(chan struct{}, 4),
		connected: make(chan struct{})}
	p.rx.init()
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			p.connOnce.Do(func() { close(p.connected) })
		}
		if s == webrtc.PeerConnectionStateFailed {
			p.fail(fmt.Errorf("peer connection failed"))
		}
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		go p.receive(t)
		go readReceiverRTCP(r)
	})
	go p.loop()
	return p, nil
}

func (p *peer) fail(err error) {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	if len(p.errs) < 5 {
		p.errs = append(p.errs, fmt.Sprintf("%s: %v", p.sessionID, err))
	}
}

func (p *peer) loop() {
	for {
		select {
		case <-p.in.signal:
			for _, m := range p.in.take() {
				if err := p.handle(m); err != nil {
					p.fail(err)
				}
			}
		case op, ok := <-p.ops:
			if !ok {
				return
			}
			if err := op(); err != nil {
				p.fail(err)
			}
		}
	}
}

// do runs op on the peer's signaling goroutine and waits for it.
func (p *peer) do(op func() error) error {
	done := make(chan error, 1)
	p.ops <- func() error { err := op(); done <- err; return err }
	return <-done
}

func (p *peer) handle(m rtcMsg) error {
	switch m.Type {
	case msgSDP:
		var d webrtc.SessionDescription
		if err := json.Unmarshal(m.Data, &d); err != nil {
			return err
		}
		if err := p.pc.SetRemoteDescription(d); err != nil {
			return fmt.Errorf("set remote %s: %w", d.Type, err)
		}
		p.tap.negotiated(d.SDP)
		for _, c := range p.early {
			if err := p.pc.AddICECandidate(c); err != nil {
				p.fail(err)
			}
		}
		p.early = nil
		if d.Type == webrtc.SDPTypeAnswer {
			p.answered <- struct{}{}
			return nil
		}
		a, err := p.pc.CreateAnswer(nil)
		if err != nil {
			return err
		}
		if err := p.pc.SetLocalDescription(a); err != nil {
			return err
		}
		return p.g.conn.rtc(p.callID, p.sessionID, msgSDP, p.pc.LocalDescription())
	case msgICE:
		var c struct {
			Candidate webrtc.ICECandidateInit `json:"candidate"`
		}
		if err := json.Unmarshal(m.Data, &c); err != nil {
			return err
		}
		if c.Candidate.Candidate == "" {
			return nil
		}
		// rtcd v1.2.6 may trickle a candidate before its answer.
		if p.pc.RemoteDescription() == nil {
			p.early = append(p.early, c.Candidate)
			return nil
		}
		return p.pc.AddICECandidate(c.Candidate)
	}
	return nil
}

// sendOffer sends our offer with every local candidate in it (no trickle:
// on loopback gathering is immediate).
func (p *peer) sendOffer() error {
	o, err := p.pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(o); err != nil {
		return err
	}
	<-gathered
	return p.g.conn.rtc(p.callID, p.sessionID, msgSDP, p.pc.LocalDescription())
}

// join does what the Calls client does on joining: join, then an offer
// with a microphone track and the calls-dc data channel (rtcd v1.2.6
// renegotiates only once that channel is open), and waits for ICE+DTLS.
func (p *peer) join(timeout time.Duration) error {
	t0 := time.Now()
	if err := p.g.conn.join(p.callID, p.sessionID); err != nil {
		return err
	}
	err := p.do(func() error {
		if _, err := p.pc.CreateDataChannel("calls-dc", nil); err != nil {
			return err
		}
		track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus,
			ClockRate: 48000, Channels: 2}, "voice-"+p.sessionID, "stream-"+p.sessionID)
		if err != nil {
			return err
		}
		tx, err := p.pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return err
		}
		p.audioTrack, p.audioTx = track, tx
		go drainRTCP(tx.Sender(), "", nil)
		return p.sendOffer()
	})
	if err != nil {
		return err
	}
	if err := p.waitAnswer(timeout); err != nil {
		return err
	}
	select {
	case <-p.connected:
	case <-time.After(timeout):
		return fmt.Errorf("%s: not connected after %s (peer %s, ICE %s, signaling %s); errors: %v", p.sessionID,
			timeout, p.pc.ConnectionState(), p.pc.ICEConnectionState(), p.pc.SignalingState(), p.errs)
	}
	p.joinMs = float64(time.Since(t0).Microseconds()) / 1000
	return nil
}

func (p *peer) waitAnswer(timeout time.Duration) error {
	select {
	case <-p.answered:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%s: no answer after %s", p.sessionID, timeout)
	}
}

// shareScreen does what the Calls client does: ScreenOn with the stream ID,
// then a renegotiation adding a VP8 track sent as simulcast h and l.
func (p *peer) shareScreen(timeout time.Duration) error {
	err := p.do(func() error {
		streamID := "screen-" + p.sessionID
		if err := p.g.conn.rtc(p.callID, p.sessionID, msgScreenOn, map[string]string{"screenStreamID": streamID}); err != nil {
			return err
		}
		vp8 := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
		h, err := webrtc.NewTrackLocalStaticRTP(vp8, "screen-track-"+p.sessionID, streamID, webrtc.WithRTPStreamID("h"))
		if err != nil {
			return err
		}
		l, err := webrtc.NewTrackLocalStaticRTP(vp8, "screen-track-"+p.sessionID, streamID, webrtc.WithRTPStreamID("l"))
		if err != nil {
			return err
		}
		tx, err := p.pc.AddTransceiverFromTrack(h, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return err
		}
		if err := tx.Sender().AddEncoding(l); err != nil {
			return err
		}
		p.screenTx, p.screenH, p.screenL = tx, h, l
		return p.sendOffer()
	})
	if err != nil {
		return err
	}
	return p.waitAnswer(timeout)
}

func (p *peer) leave() {
	_ = p.g.conn.leave(p.sessionID)
}

func (p *peer) close() {
	if err := p.pc.Close(); err != nil && !errors.Is(err, webrtc.ErrConnectionClosed) {
		p.fail(err)
	}
}

// extID is the negotiated ID of a header extension on a sender (0: none).
func extID(s *webrtc.RTPSender, uri string) uint8 {
	for _, e := range s.GetParameters().HeaderExtensions {
		if e.URI == uri {
			return uint8(e.ID) //nolint:gosec // extension IDs are 1..255
		}
	}
	return 0
}
