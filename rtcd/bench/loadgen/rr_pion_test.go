package main

import (
	"net"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Two generator peers on loopback (newAPI, as every peer is built): the
// receiving one's reports reach the sender as RTCP compound packets of an
// RR with a block for the sent SSRC (LSR set from the sender's SRs) and an
// SDES CNAME.
func TestRRBetweenPionPeers(t *testing.T) {
	if testing.Short() {
		t.Skip("opens two peer connections")
	}
	txAPI, err := newAPI(net.IPv4(127, 0, 0, 1), newTWCCTap(nil))
	if err != nil {
		t.Fatal(err)
	}
	rxAPI, err := newAPI(net.IPv4(127, 0, 0, 1), newTWCCTap(nil))
	if err != nil {
		t.Fatal(err)
	}
	tx, rx := peers(t, txAPI, rxAPI)

	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus,
		ClockRate: 48000, Channels: 2}, "a", "s")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := tx.AddTrack(track)
	if err != nil {
		t.Fatal(err)
	}
	ssrc := uint32(sender.GetParameters().Encodings[0].SSRC)
	rx.OnTrack(func(tr *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		go readReceiverRTCP(r)
		go func() {
			buf := make([]byte, 1500)
			for {
				if _, _, err := tr.Read(buf); err != nil {
					return
				}
			}
		}()
	})

	negotiate(t, tx, rx)

	stop := make(chan struct{})
	defer close(stop)
	go func() {
		payload := make([]byte, 100)
		var seq uint16
		var ts uint32
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			seq++
			ts += 960
			if seq%10 == 0 {
				continue // 10 % lost
			}
			_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq,
				Timestamp: ts}, Payload: payload})
		}
	}()

	deadline := time.After(8 * time.Second)
	got := make(chan rtcp.ReceptionReport, 1)
	go func() {
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			rr, ok := pkts[0].(*rtcp.ReceiverReport)
			if !ok || len(pkts) < 2 {
				continue
			}
			if _, ok := pkts[len(pkts)-1].(*rtcp.SourceDescription); !ok {
				continue
			}
			for _, b := range rr.Reports {
				// wait for one that has seen an SR and a lost packet
				if b.SSRC == ssrc && b.LastSenderReport != 0 && b.TotalLost > 0 {
					select {
					case got <- b:
					default:
					}
					return
				}
			}
		}
	}()
	select {
	case b := <-got:
		t.Logf("report block: %+v", b)
		if b.FractionLost == 0 || b.FractionLost > 60 { // ~10 % = 25/256
			t.Fatalf("fraction lost %d", b.FractionLost)
		}
	case <-deadline:
		t.Fatal("no RR+SDES with an LSR and losses for the sent SSRC in 8 s")
	}
}
