package main

import (
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// window is the measurement window on the nowNs clock: packets whose send
// time falls in [start, end) are the ones counted, at the sender and at
// every receiver, so in-flight packets at either edge count on both sides
// or on neither.
type window struct {
	start atomic.Int64
	end   atomic.Int64
}

func (w *window) contains(ns int64) bool {
	s := w.start.Load()
	return s != 0 && ns >= s && ns < w.end.Load()
}

// sentStream counts what one sender sent on one stream inside the window:
// counters first..last, with first = -1 until one is sent.
type sentStream struct {
	counter uint32
	first   atomic.Int64
	last    atomic.Int64
	frames  atomic.Int64 // video: frames started inside the window
}

func (s *sentStream) init() { s.first.Store(-1); s.last.Store(-1) }

// next stamps the next packet of the stream.
func (s *sentStream) next(w *window, stream uint8, sender uint32) trailer {
	t := trailer{stream: stream, sender: sender, counter: s.counter, sentNs: nowNs()}
	s.counter++
	if w.contains(t.sentNs) {
		if s.first.Load() < 0 {
			s.first.Store(int64(t.counter))
		}
		s.last.Store(int64(t.counter))
	}
	return t
}

func (s *sentStream) inWindow() int64 {
	if s.first.Load() < 0 {
		return 0
	}
	return s.last.Load() - s.first.Load() + 1
}

// drainRTCP reads a sender's RTCP (pion's interceptors only see what is
// read) and flags key frame requests (PLI, FIR) for the video sender.
func drainRTCP(s *webrtc.RTPSender, rid string, keyReq *atomic.Bool) {
	for {
		var pkts []rtcp.Packet
		var err error
		if rid == "" {
			pkts, _, err = s.ReadRTCP()
		} else {
			pkts, _, err = s.ReadSimulcastRTCP(rid)
		}
		if err != nil {
			return
		}
		if keyReq == nil {
			continue
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				keyReq.Store(true)
			}
		}
	}
}

// sendAudio sends opus-size packets at 50 packets/s, with mid and the
// audio level ("speaking") extensions as browsers send them, until stop.
func (p *peer) sendAudio(stop <-chan struct{}, st *sentStream) {
	sender := p.audioTx.Sender()
	mid := []byte(p.audioTx.Mid())
	midID, levelID := extID(sender, sdp.SDESMidURI), extID(sender, audioLevelURI)
	buf := make([]byte, audioPayloadLen)
	seq := uint16(p.index * 1000)
	ts := p.index * 48000
	pace := newPacer(20 * time.Millisecond)
	defer pace.stop()
	for {
		if !pace.wait(stop) {
			return
		}
		h := rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, Timestamp: ts}
		if midID != 0 {
			_ = h.SetExtension(midID, mid)
		}
		if levelID != 0 {
			_ = h.SetExtension(levelID, []byte{0x80 | 30}) // voice activity, -30 dBov
		}
		seq++
		ts += 960
		pkt := rtp.Packet{Header: h, Payload: audioPayload(buf, st.next(&p.g.win, streamAudio, p.index))}
		if err := p.audioTrack.WriteRTP(&pkt); err != nil {
			p.fail(err)
			return
		}
	}
}

// simLayer is the sending state of one simulcast layer.
type simLayer struct {
	layer     *vp8Layer
	track     *webrtc.TrackLocalStaticRTP
	rid       []byte
	st        *sentStream
	keyReq    atomic.Bool
	lastKey   time.Time
	frame     int
	seq       uint16
	pictureID uint16
}

// sendScreen sends both layers at 30 frames/s: a key frame every 3 s, or
// on a PLI/FIR (at most one per 500 ms per layer, as browsers throttle).
func (p *peer) sendScreen(stop <-chan struct{}, hs, ls *sentStream) {
	sender := p.screenTx.Sender()
	mid := []byte(p.screenTx.Mid())
	midID, ridID := extID(sender, sdp.SDESMidURI), extID(sender, sdp.SDESRTPStreamIDURI)
	layers := []*simLayer{
		{layer: &layerH, track: p.screenH, rid: []byte("h"), st: hs, seq: 1000},
		{layer: &layerL, track: p.screenL, rid: []byte("l"), st: ls, seq: 30000},
	}
	for _, l := range layers {
		go drainRTCP(sender, string(l.rid), &l.keyReq)
	}
	buf := make([]byte, 1500)
	var ts uint32
	pace := newPacer(time.Second / 30)
	defer pace.stop()
	for {
		if !pace.wait(stop) {
			return
		}
		ts += 3000
		for _, l := range layers {
			key := l.frame%90 == 0 || (l.keyReq.Load() && time.Since(l.lastKey) > 500*time.Millisecond)
			if key {
				l.keyReq.Store(false)
				l.lastKey = time.Now()
			}
			n := l.layer.packets
			if key {
				n = l.layer.keyPackets
			}
			if p.g.win.contains(nowNs()) {
				l.st.frames.Add(1)
			}
			for i := 0; i < n; i++ {
				h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: l.seq, Timestamp: ts, Marker: i == n-1}
				if midID != 0 {
					_ = h.SetExtension(midID, mid)
				}
				if ridID != 0 {
					_ = h.SetExtension(ridID, l.rid)
				}
				l.seq++
				t := l.st.next(&p.g.win, l.layer.stream, p.index)
				pkt := rtp.Packet{Header: h, Payload: vp8Packet(buf, l.layer, l.pictureID, i == 0, key, t)}
				if err := l.track.WriteRTP(&pkt); err != nil {
					p.fail(err)
					return
				}
			}
			l.frame++
			l.pictureID = (l.pictureID + 1) & 0x7fff
		}
	}
}

// pacer releases one send per period on average: a tick the scheduler
// delivered late is made up by sending the ones due at once (as a browser's
// capture keeps producing while it is descheduled), up to maxBurst; beyond
// that they are skipped, and the send rate shows it.
type pacer struct {
	period time.Duration
	start  time.Time
	sent   int64
	ticker *time.Ticker
}

const maxBurst = 5

func newPacer(period time.Duration) *pacer {
	return &pacer{period: period, start: time.Now(), ticker: time.NewTicker(period)}
}

func (p *pacer) stop() { p.ticker.Stop() }

// wait returns when the next send is due (false: stopped).
func (p *pacer) wait(stop <-chan struct{}) bool {
	for {
		due := int64(time.Since(p.start)/p.period) + 1
		if due-p.sent > maxBurst {
			p.sent = due - maxBurst
		}
		if p.sent < due {
			p.sent++
			return true
		}
		select {
		case <-stop:
			return false
		case <-p.ticker.C:
		}
	}
}
