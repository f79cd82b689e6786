package main

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/pion/webrtc/v4"
)

// rxKey is one stream of one sender, as a receiver sees it.
type rxKey struct {
	sender uint32
	stream uint8
}

// rxStream is what a receiver got of one stream: every packet (to know the
// stream flows) and, inside the window, each counter once (a bitset, so a
// retransmitted duplicate is not counted twice) with the lowest and highest.
type rxStream struct {
	total    uint64
	bits     []uint64
	unique   int64
	min, max uint32
}

func (s *rxStream) mark(c uint32) {
	w := int(c / 64)
	for len(s.bits) <= w {
		s.bits = append(s.bits, 0)
	}
	if s.bits[w]&(1<<(c%64)) != 0 {
		return
	}
	s.bits[w] |= 1 << (c % 64)
	if s.unique == 0 || c < s.min {
		s.min = c
	}
	if s.unique == 0 || c > s.max {
		s.max = c
	}
	s.unique++
}

type rxState struct {
	mu      sync.Mutex
	streams map[rxKey]*rxStream
	foreign atomic.Int64 // packets without our trailer
}

func (r *rxState) init() { r.streams = map[rxKey]*rxStream{} }

func (r *rxState) get(k rxKey) *rxStream {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.streams[k]
	if s == nil {
		return nil
	}
	c := *s // a copy: receivers may still be writing
	c.bits = nil
	return &c
}

// receive reads one incoming track until the connection closes. It keeps
// counters and latency samples only, never the packets.
func (p *peer) receive(t *webrtc.TrackRemote) {
	buf := make([]byte, 1600)
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		now := nowNs()
		tr, ok := readTrailer(rtpPayload(buf[:n]))
		if !ok {
			p.rx.foreign.Add(1)
			continue
		}
		in := p.g.win.contains(tr.sentNs)
		k := rxKey{tr.sender, tr.stream}
		p.rx.mu.Lock()
		s := p.rx.streams[k]
		if s == nil {
			s = &rxStream{}
			p.rx.streams[k] = s
		}
		s.total++
		if in {
			s.mark(tr.counter)
		}
		p.rx.mu.Unlock()
		if in {
			kind := 0
			if tr.stream != streamAudio {
				kind = 1
			}
			latency[kind].add(now - tr.sentNs)
		}
	}
}

// histogram of one-way latencies in 50 µs buckets up to 2 s (the last
// bucket holds the rest), shared by all receivers.
type histogram struct {
	b [40001]atomic.Uint32
}

var latency [2]histogram // audio, video

func (h *histogram) add(ns int64) {
	i := ns / 50_000
	if i < 0 {
		i = 0
	}
	if i >= int64(len(h.b)) {
		i = int64(len(h.b)) - 1
	}
	h.b[i].Add(1)
}

type latencySummary struct {
	P50     float64 `json:"p50"`
	P99     float64 `json:"p99"`
	Max     float64 `json:"max"`
	Samples int64   `json:"samples"`
}

func (h *histogram) summary() latencySummary {
	var n int64
	for i := range h.b {
		n += int64(h.b[i].Load())
	}
	out := latencySummary{Samples: n}
	if n == 0 {
		return out
	}
	at := func(q float64) float64 {
		want := int64(q * float64(n))
		var c int64
		for i := range h.b {
			c += int64(h.b[i].Load())
			if c > want {
				return float64(i)*0.05 + 0.025 // bucket middle, ms
			}
		}
		return float64(len(h.b)) * 0.05
	}
	out.P50, out.P99 = at(0.5), at(0.99)
	for i := len(h.b) - 1; i >= 0; i-- {
		if h.b[i].Load() > 0 {
			out.Max = float64(i+1) * 0.05
			break
		}
	}
	return out
}

func percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(q * float64(len(s)))
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

// gaps lists the counters in [from, to] a receiver did not get (at most
// 20 ranges), for -debug.
func (r *rxState) gaps(k rxKey, from, to int64) [][2]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.streams[k]
	var out [][2]int64
	for c := from; c <= to && len(out) < 20; c++ {
		w := int(c / 64)
		if s != nil && w < len(s.bits) && s.bits[w]&(1<<(uint64(c)%64)) != 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1][1] == c-1 {
			out[n-1][1] = c
		} else {
			out = append(out, [2]int64{c, c})
		}
	}
	return out
}

// shortGaps counts, between the first and last counter received inside the
// window, the missing counters in runs of at most maxGap (loss), and the
// longer runs (pauses: the SFU forwarded another layer meanwhile).
func (r *rxState) shortGaps(k rxKey, maxGap int64) (missing int64, pauses int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.streams[k]
	if s == nil || s.unique == 0 {
		return 0, 0
	}
	var run int64
	for c := int64(s.min); c <= int64(s.max); c++ {
		if s.bits[c/64]&(1<<(uint64(c)%64)) != 0 {
			if run > maxGap {
				pauses++
			} else {
				missing += run
			}
			run = 0
			continue
		}
		run++
	}
	return missing, pauses
}
