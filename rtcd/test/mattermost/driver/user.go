package main

import (
	"log/slog"
	"sync"
	"time"

	"github.com/mattermost/rtcd/client"
	"github.com/pion/webrtc/v4"
)

type remoteTrack struct {
	id, kind, typ, from string
	packets             int64
	firstAt, lastAt     int64
}

type user struct {
	id     int
	frames [][]byte
	debug  bool

	mu      sync.Mutex
	c       *client.Client
	px      *proxy
	tracks  map[string]*remoteTrack
	named   []string // every remote track ID the client saw, in order, parseable or not
	voice   *webrtc.TrackLocalStaticSample
	screen  *webrtc.TrackLocalStaticSample
	stopped chan struct{}
	loss    float64
	rtt     float64
	jitter  float64
	nstats  int
}

func (u *user) emit(ev string, f map[string]any) { emit(ev, u.id, f) }

func (u *user) seen(id string) {
	u.mu.Lock()
	u.named = append(u.named, id)
	u.mu.Unlock()
	u.emit("track_named", map[string]any{"id": id})
}

func (u *user) rtcStats(f map[string]any) {
	num := func(k string) float64 {
		switch v := f[k].(type) {
		case float64:
			return v
		case int64:
			return float64(v)
		}
		return -1
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.loss, u.rtt, u.jitter = num("lossRate"), num("rtt"), num("jitter")
	u.nstats++
}

func (u *user) join(mmHost, token, channel string) {
	px, err := newProxy(mmHost)
	if err != nil {
		u.emit("error", map[string]any{"error": err.Error()})
		return
	}
	u.px = px
	u.stopped = make(chan struct{})
	log := slog.New(&logHook{u: u, debug: u.debug})
	c, err := client.New(client.Config{
		SiteURL:          "http://" + px.addr(),
		AuthToken:        token,
		ChannelID:        channel,
		EnableRTCMonitor: true,
	}, client.WithLogger(log))
	if err != nil {
		u.emit("error", map[string]any{"error": err.Error()})
		return
	}
	u.mu.Lock()
	u.c = c
	u.mu.Unlock()
	on := func(ev client.EventType, h func(ctx any)) {
		_ = c.On(ev, func(ctx any) error { h(ctx); return nil })
	}
	on(client.WSConnectEvent, func(any) { u.emit("ws_connected", nil) })
	on(client.WSDisconnectEvent, func(any) { u.emit("ws_disconnected", nil) })
	on(client.WSCallJoinEvent, func(any) { u.emit("joined", nil) })
	on(client.RTCConnectEvent, func(any) { u.emit("rtc_connected", nil) })
	on(client.RTCDisconnectEvent, func(any) { u.emit("rtc_disconnected", nil) })
	on(client.CloseEvent, func(any) { u.emit("closed", nil) })
	on(client.ErrorEvent, func(ctx any) { u.emit("error", map[string]any{"error": sprint(ctx)}) })
	on(client.RTCTrackEvent, func(ctx any) {
		m, _ := ctx.(map[string]any)
		tr, _ := m["track"].(*webrtc.TrackRemote)
		if tr != nil {
			go u.read(tr)
		}
	})
	if err := c.Connect(); err != nil {
		u.emit("error", map[string]any{"error": "connect: " + err.Error()})
	}
}

// read counts the RTP packets of one remote track until it ends.
func (u *user) read(tr *webrtc.TrackRemote) {
	typ, from, _ := client.ParseTrackID(tr.ID())
	rt := &remoteTrack{id: tr.ID(), kind: tr.Kind().String(), typ: typ, from: from}
	u.mu.Lock()
	u.tracks[tr.ID()] = rt
	u.mu.Unlock()
	u.emit("track", map[string]any{"id": rt.id, "kind": rt.kind, "type": typ, "from": from})
	for {
		if _, _, err := tr.ReadRTP(); err != nil {
			return
		}
		now := time.Now().UnixMilli()
		u.mu.Lock()
		if rt.packets == 0 {
			rt.firstAt = now
		}
		rt.packets++
		rt.lastAt = now
		u.mu.Unlock()
	}
}

func (u *user) reportStats() {
	u.mu.Lock()
	defer u.mu.Unlock()
	tracks := []map[string]any{}
	for _, rt := range u.tracks {
		tracks = append(tracks, map[string]any{
			"id": rt.id, "kind": rt.kind, "type": rt.typ, "from": rt.from,
			"packets": rt.packets, "firstAt": rt.firstAt, "lastAt": rt.lastAt,
		})
	}
	u.emit("stats", map[string]any{
		"tracks": tracks, "named": u.named,
		"lossRate": u.loss, "rtt": u.rtt, "jitter": u.jitter, "rtcStats": u.nstats,
	})
}

func (u *user) do(op string) {
	u.mu.Lock()
	c := u.c
	u.mu.Unlock()
	if c == nil {
		u.emit("error", map[string]any{"error": "not connected", "op": op})
		return
	}
	var err error
	switch op {
	case "unmute":
		err = u.unmute(c)
	case "mute":
		err = c.Mute()
	case "screen_on":
		err = u.startScreen(c)
	case "screen_off":
		err = c.StopScreenShare()
	case "reconnect":
		n := u.px.cut()
		u.emit("cut", map[string]any{"conns": n})
	case "leave":
		u.leave()
	case "stats":
		u.reportStats()
		return
	default:
		u.emit("error", map[string]any{"error": "unknown op " + op})
		return
	}
	if err != nil {
		u.emit("error", map[string]any{"error": err.Error(), "op": op})
		return
	}
	u.emit("done", map[string]any{"op": op})
}

func (u *user) leave() {
	u.mu.Lock()
	c := u.c
	u.c = nil
	u.mu.Unlock()
	if c == nil {
		return
	}
	close(u.stopped)
	_ = c.Close()
	u.px.close()
}
