package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattermost/rtcd/client"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
)

// An Opus frame of silence (TOC 0xf8: CELT FB 20 ms): a real, decodable
// frame, so every hop treats it as voice.
var opusSilence = []byte{0xf8, 0xff, 0xfe}

func (u *user) unmute(c *client.Client) error {
	u.mu.Lock()
	tr := u.voice
	if tr == nil {
		var err error
		tr, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
			"voice", fmt.Sprintf("voice-%d", u.id))
		if err != nil {
			u.mu.Unlock()
			return err
		}
		u.voice = tr
		go u.pump(tr, func(int) []byte { return opusSilence }, 20*time.Millisecond)
	}
	u.mu.Unlock()
	return c.Unmute(tr)
}

func (u *user) startScreen(c *client.Client) error {
	if len(u.frames) == 0 {
		return fmt.Errorf("no screen IVF given")
	}
	u.mu.Lock()
	tr := u.screen
	if tr == nil {
		var err error
		tr, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
			"screen", fmt.Sprintf("screen-%d", u.id))
		if err != nil {
			u.mu.Unlock()
			return err
		}
		u.screen = tr
		frames := u.frames
		go u.pump(tr, func(i int) []byte { return frames[i%len(frames)] }, 33*time.Millisecond)
	}
	u.mu.Unlock()
	_, err := c.StartScreenShare([]webrtc.TrackLocal{tr})
	return err
}

// pump writes one sample per tick until the user leaves; a track that is not
// bound to a sender yet drops them, like a real microphone.
func (u *user) pump(tr *webrtc.TrackLocalStaticSample, next func(int) []byte, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-u.stopped:
			return
		case <-t.C:
			_ = tr.WriteSample(media.Sample{Data: next(i), Duration: every})
		}
	}
}

func loadIVF(path string) ([][]byte, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, _, err := ivfreader.NewWith(f)
	if err != nil {
		return nil, err
	}
	var frames [][]byte
	for len(frames) < 300 {
		fr, _, err := r.ParseNextFrame()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		frames = append(frames, fr)
	}
	return frames, nil
}
