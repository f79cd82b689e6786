package main

import (
	"encoding/binary"
	"time"
)

// Every payload the generator sends ends with a trailer: both SFUs forward
// payload bytes unchanged past the codec headers they rewrite (mediasoup
// rewrites the VP8 picture ID in place), so the end of the payload is where
// it survives whatever the header layout. A receiver reads back who sent it,
// on which stream, its place in that stream, and when.
const (
	trailerLen   = 20
	trailerMagic = 0x4c47 // "LG"
)

// Streams a sender has: audio, and the two simulcast layers of a screen.
const (
	streamAudio = 0
	streamH     = 1
	streamL     = 2
	numStreams  = 3
)

type trailer struct {
	stream  uint8
	sender  uint32
	counter uint32 // 0, 1, 2, ... per sender and stream
	sentNs  int64  // on the generator's monotonic clock (nowNs)
}

var epoch = time.Now()

// nowNs is monotonic: all peers live in this process, on one clock, so
// receive time minus send time is the one-way latency through the SFU.
func nowNs() int64 { return int64(time.Since(epoch)) }

func putTrailer(p []byte, t trailer) {
	b := p[len(p)-trailerLen:]
	binary.BigEndian.PutUint16(b[0:], trailerMagic)
	b[2] = t.stream
	b[3] = 0
	binary.BigEndian.PutUint32(b[4:], t.sender)
	binary.BigEndian.PutUint32(b[8:], t.counter)
	binary.BigEndian.PutUint64(b[12:], uint64(t.sentNs))
}

func readTrailer(p []byte) (trailer, bool) {
	if len(p) < trailerLen {
		return trailer{}, false
	}
	b := p[len(p)-trailerLen:]
	if binary.BigEndian.Uint16(b[0:]) != trailerMagic || b[2] >= numStreams {
		return trailer{}, false
	}
	return trailer{
		stream:  b[2],
		sender:  binary.BigEndian.Uint32(b[4:]),
		counter: binary.BigEndian.Uint32(b[8:]),
		sentNs:  int64(binary.BigEndian.Uint64(b[12:])),
	}, true
}

// rtpPayload returns the payload of a raw RTP packet (after CSRCs and the
// header extension, before padding).
func rtpPayload(pkt []byte) []byte {
	if len(pkt) < 12 || pkt[0]>>6 != 2 {
		return nil
	}
	off := 12 + 4*int(pkt[0]&0x0f)
	if pkt[0]&0x10 != 0 {
		if len(pkt) < off+4 {
			return nil
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(pkt[off+2:]))
	}
	end := len(pkt)
	if pkt[0]&0x20 != 0 && end > off {
		end -= int(pkt[end-1])
	}
	if off > end {
		return nil
	}
	return pkt[off:end]
}

// Opus: a TOC byte (config 31: CELT fullband 20 ms, mono, one frame), then
// opaque bytes, as an SFU sees a 20 ms frame at ~30 kbit/s.
const (
	audioPayloadLen = 80
	opusTOC         = 0xf8
)

func audioPayload(buf []byte, t trailer) []byte {
	p := buf[:audioPayloadLen]
	p[0] = opusTOC
	putTrailer(p, t)
	return p
}

// A layer of VP8 screen share: packets per frame (interframe and key
// frame) and their payload size, at 30 frames/s.
type vp8Layer struct {
	stream        uint8
	width, height uint16
	packets       int // per interframe
	keyPackets    int // per key frame
	payloadLen    int
}

// ~1.9 Mbit/s (h, 1920x1080) and ~0.25 Mbit/s (l, 960x540) on average, a
// key frame every 3 s or on request; the Calls client sends screen share
// as simulcast h and l.
var (
	layerH = vp8Layer{stream: streamH, width: 1920, height: 1080, packets: 7, keyPackets: 21, payloadLen: 1100}
	layerL = vp8Layer{stream: streamL, width: 960, height: 540, packets: 1, keyPackets: 3, payloadLen: 1000}
)

// vp8Packet fills one packet of a frame. The payload descriptor has X=1,
// I=1 and a 15-bit picture ID (as browsers send it), S=1 and PID=0 on the
// first packet. The first packet also carries the frame tag (P=0 on key
// frames, show_frame=1) and, on key frames, the start code and size: what
// SFUs read to find key frames and layer switch points.
func vp8Packet(buf []byte, l *vp8Layer, pictureID uint16, first, key bool, t trailer) []byte {
	p := buf[:l.payloadLen]
	for i := range p {
		p[i] = 0
	}
	p[0] = 0x80 // X
	if first {
		p[0] |= 0x10 // S, PID 0
	}
	p[1] = 0x80 // I
	p[2] = 0x80 | byte(pictureID>>8&0x7f)
	p[3] = byte(pictureID)
	if first {
		h := p[4:]
		if key {
			h[0] = 0x10 // P=0 key frame, version 0, show_frame
		} else {
			h[0] = 0x11
		}
		h[1], h[2] = 0x02, 0x00 // first partition size (opaque to SFUs)
		if key {
			h[3], h[4], h[5] = 0x9d, 0x01, 0x2a
			binary.LittleEndian.PutUint16(h[6:], l.width)
			binary.LittleEndian.PutUint16(h[8:], l.height)
		}
	}
	putTrailer(p, t)
	return p
}
