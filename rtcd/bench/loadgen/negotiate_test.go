package main

import (
	"testing"

	"github.com/pion/webrtc/v4"
)

// peers opens a sending and a receiving peer connection, closed when the test ends.
func peers(t *testing.T, txAPI, rxAPI *webrtc.API) (tx, rx *webrtc.PeerConnection) {
	t.Helper()
	tx, err := txAPI.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Close() })
	rx, err = rxAPI.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rx.Close() })
	return tx, rx
}

// negotiate makes tx's offer and rx's answer, each with every local
// candidate in it (no trickle: on loopback gathering is immediate).
func negotiate(t *testing.T, tx, rx *webrtc.PeerConnection) {
	t.Helper()
	offer, err := tx.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(tx)
	if err := tx.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	if err := rx.SetRemoteDescription(*tx.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	answer, err := rx.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered = webrtc.GatheringCompletePromise(rx)
	if err := rx.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	if err := tx.SetRemoteDescription(*rx.LocalDescription()); err != nil {
		t.Fatal(err)
	}
}
