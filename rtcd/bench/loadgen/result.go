package main

import "math"

type lossCount struct {
	Expected int64   `json:"expected"`
	Received int64   `json:"received"`
	LossPct  float64 `json:"lossPercent"`
}

type result struct {
	Event         string  `json:"event"`
	Participants  int     `json:"participants"`
	WindowSeconds float64 `json:"windowSeconds"`
	// Unique packets receivers got inside the window, audio + video: what
	// the SFU delivered.
	Delivered int64 `json:"delivered"`
	Audio     struct {
		lossCount
		WorstReceiverLossPct float64 `json:"worstReceiverLossPercent"`
	} `json:"audio"`
	Video *struct {
		lossCount
		// Unique packets receivers got of each layer: which one the SFU
		// forwards to viewers.
		ReceivedH            int64 `json:"receivedH"`
		ReceivedL            int64 `json:"receivedL"`
		ViewersWithoutScreen int   `json:"viewersWithoutScreen"`
		LayerPauses          int   `json:"layerPauses"`
	} `json:"video,omitempty"`
	Sent struct {
		Audio, VideoH, VideoL, Frames int64
		// What was sent vs nominal (50 audio packets/s per unmuted user, 30
		// frames/s per sharer): below ~95 % the generator is late.
		RatePct float64 `json:"ratePercent"`
	} `json:"sent"`
	LatencyMs struct {
		Audio latencySummary `json:"audio"`
		Video latencySummary `json:"video"`
	} `json:"latencyMs"`
	JoinMs struct {
		P50, P99, Max float64
		Concurrency   int `json:"concurrency"`
	} `json:"joinMs"`
	ForeignPackets int64 `json:"foreignPackets"`
	// Bandwidth probes (mediasoup's padding) receivers got inside the window.
	Probes struct {
		Packets int64 `json:"packets"`
		Bytes   int64 `json:"bytes"`
	} `json:"probes"`
	Errors []string `json:"errors"`
}

func pctLoss(expected, received int64) float64 {
	if expected <= 0 {
		return 0
	}
	return round2(math.Max(0, 1-float64(received)/float64(expected)) * 100)
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// Gaps in what a viewer got of one layer longer than ~250 ms of that layer
// (h ~240 packets/s, l ~32) are pauses, not loss: the SFU forwarded the
// other layer meanwhile (it switches at key frames).
const (
	maxGapH = 60
	maxGapL = 8
)

// result compares, for every sender -> receiver pair of a call, what the
// sender sent inside the window with the unique packets of it the receiver
// got. Video: a viewer gets one layer at a time, chosen by the SFU, and
// after a switch only from the new layer's next key frame on; so for each
// layer a viewer got, what counts as expected is what it received plus the
// short gaps between its first and last packet of the window, and a viewer
// that got no screen at all expects everything sent on l.
func (g *gen) result(sent map[rxKey]*sentStream, all []*peer) result {
	var r result
	r.Event = "result"
	r.Participants = len(all)
	r.WindowSeconds = round2(g.o.duration.Seconds())
	if g.o.screen {
		r.Video = &struct {
			lossCount
			ReceivedH            int64 `json:"receivedH"`
			ReceivedL            int64 `json:"receivedL"`
			ViewersWithoutScreen int   `json:"viewersWithoutScreen"`
			LayerPauses          int   `json:"layerPauses"`
		}{}
	}
	for _, ps := range g.calls {
		for _, rc := range ps {
			var exp, got int64
			for i, s := range ps {
				if s == rc {
					continue
				}
				if i < g.o.unmuted {
					e := sent[rxKey{s.index, streamAudio}].inWindow()
					exp += e
					if st := rc.rx.get(rxKey{s.index, streamAudio}); st != nil {
						got += st.unique
					}
				}
				if g.o.screen && i == 0 {
					h, l := rc.rx.get(rxKey{s.index, streamH}), rc.rx.get(rxKey{s.index, streamL})
					sl := sent[rxKey{s.index, streamL}].inWindow()
					hu, lu := uniq(h), uniq(l)
					hm, hp := rc.rx.shortGaps(rxKey{s.index, streamH}, maxGapH)
					lm, lp := rc.rx.shortGaps(rxKey{s.index, streamL}, maxGapL)
					r.Video.Expected += hu + hm + lu + lm
					r.Video.LayerPauses += hp + lp
					if hu+lu == 0 {
						r.Video.Expected += sl
						r.Video.ViewersWithoutScreen++
					}
					r.Video.Received += hu + lu
					r.Video.ReceivedH += hu
					r.Video.ReceivedL += lu
				}
			}
			r.Audio.Expected += exp
			r.Audio.Received += got
			r.Audio.WorstReceiverLossPct = math.Max(r.Audio.WorstReceiverLossPct, pctLoss(exp, got))
			r.ForeignPackets += rc.rx.foreign.Load()
			r.Probes.Packets += rc.tap.probes.packets.Load()
			r.Probes.Bytes += rc.tap.probes.bytes.Load()
		}
	}
	r.Audio.LossPct = pctLoss(r.Audio.Expected, r.Audio.Received)
	r.Delivered = r.Audio.Received
	if r.Video != nil {
		r.Video.LossPct = pctLoss(r.Video.Expected, r.Video.Received)
		r.Delivered += r.Video.Received
	}

	var audioSenders, sharers int64
	for k, s := range sent {
		switch k.stream {
		case streamAudio:
			r.Sent.Audio += s.inWindow()
			audioSenders++
		case streamH:
			r.Sent.VideoH += s.inWindow()
			r.Sent.Frames += s.frames.Load()
			sharers++
		case streamL:
			r.Sent.VideoL += s.inWindow()
		}
	}
	secs := g.o.duration.Seconds()
	nominal := float64(audioSenders)*50*secs + float64(sharers)*30*secs
	if nominal > 0 {
		r.Sent.RatePct = round2(float64(r.Sent.Audio+r.Sent.Frames) / nominal * 100)
	}
	r.LatencyMs.Audio = latency[0].summary()
	r.LatencyMs.Video = latency[1].summary()

	joins := make([]float64, 0, len(all))
	for _, p := range all {
		joins = append(joins, p.joinMs)
	}
	r.JoinMs.P50, r.JoinMs.P99 = round2(percentile(joins, 0.5)), round2(percentile(joins, 0.99))
	r.JoinMs.Max = round2(percentile(joins, 1))
	r.JoinMs.Concurrency = g.o.joinConcurrency
	r.Errors = g.errors()
	return r
}

func uniq(s *rxStream) int64 {
	if s == nil {
		return 0
	}
	return s.unique
}
