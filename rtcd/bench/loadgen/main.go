// Command loadgen is the media benchmark's load generator: C calls of U
// participants, each a pion PeerConnection (ICE, DTLS, SRTP, SCTP data
// channel) signaling through rtcd's WebSocket API the way the Calls plugin
// relays browsers. The first K of each call send opus-size audio at 50
// packets/s; with -screen the first of each call also shares a screen as
// VP8 simulcast (h and l). Everyone receives everything.
//
// It is driven by rtcd/bench/media-bench.ts and talks to it in JSON lines
// on stdout: {"event":"window-start"} and {"event":"window-end"} when the
// measurement window opens and closes (the driver samples the SFU's and
// this process's CPU there), then {"event":"result",...}. Logs go to
// stderr. It exits non-zero when the load cannot be set up (a peer does not
// connect, a stream never arrives).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

type options struct {
	url, clientID, authKey, prefix string
	calls, users, unmuted          int
	screen                         bool
	duration, warmup, drain        time.Duration
	joinConcurrency                int
	joinTimeout                    time.Duration
}

type gen struct {
	o     options
	local net.IP // the address each peer's API binds (newAPI)
	conn  *pluginConn
	win   window
	calls [][]*peer
	outMu sync.Mutex
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "", "rtcd base URL, e.g. http://127.0.0.1:8045")
	flag.StringVar(&o.clientID, "client-id", "", "registered rtcd client ID (the plugin)")
	flag.StringVar(&o.authKey, "auth-key", "", "its auth key")
	flag.StringVar(&o.prefix, "prefix", "bench", "prefix of call and session IDs")
	flag.IntVar(&o.calls, "calls", 1, "calls")
	flag.IntVar(&o.users, "users", 4, "participants per call")
	flag.IntVar(&o.unmuted, "unmuted", 2, "participants per call sending audio")
	flag.BoolVar(&o.screen, "screen", false, "one participant per call shares a screen (VP8 simulcast h/l)")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "measurement window")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "load before the window opens")
	flag.DurationVar(&o.drain, "drain", time.Second, "wait after the window for packets in flight")
	flag.IntVar(&o.joinConcurrency, "join-concurrency", 4, "participants joining at the same time")
	flag.DurationVar(&o.joinTimeout, "join-timeout", 120*time.Second, "per participant (ours renegotiates with everyone on each join: slow in big calls)")
	flag.Parse()
	if o.url == "" || o.clientID == "" || o.authKey == "" {
		fmt.Fprintln(os.Stderr, "usage: loadgen -url URL -client-id ID -auth-key KEY [-calls C -users U -unmuted K -screen -duration D]")
		os.Exit(2)
	}
	o.unmuted = min(o.unmuted, o.users)
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(1)
	}
}

func (g *gen) emit(v any) {
	b, _ := json.Marshal(v)
	g.outMu.Lock()
	defer g.outMu.Unlock()
	_, _ = os.Stdout.Write(append(b, '\n'))
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "loadgen %6.1fs: %s\n", time.Since(epoch).Seconds(), fmt.Sprintf(format, a...))
}

func run(o options) error {
	local, err := localIPFor(o.url)
	if err != nil {
		return err
	}
	// Fails here, not at the first peer, if the API cannot be built.
	if _, err := newAPI(local, newTWCCTap(nil)); err != nil {
		return err
	}
	conn, err := dialPlugin(o.url, o.clientID, o.authKey)
	if err != nil {
		return err
	}
	defer conn.close()
	g := &gen{o: o, local: local, conn: conn}
	defer g.teardown()

	// Join: people arrive a few at a time.
	var all []*peer
	for c := 0; c < o.calls; c++ {
		var ps []*peer
		for u := 0; u < o.users; u++ {
			p, err := newPeer(g, uint32(len(all)), c, fmt.Sprintf("%s-call-%d", o.prefix, c),
				fmt.Sprintf("%s-c%du%d", o.prefix, c, u))
			if err != nil {
				return err
			}
			ps = append(ps, p)
			all = append(all, p)
		}
		g.calls = append(g.calls, ps)
	}
	t0 := time.Now()
	if err := forEach(all, o.joinConcurrency, func(p *peer) error { return p.join(o.joinTimeout) }); err != nil {
		return err
	}
	logf("%d participants joined in %.1fs", len(all), time.Since(t0).Seconds())

	stop := make(chan struct{})
	var senders sync.WaitGroup
	sent := map[rxKey]*sentStream{}
	stream := func(p *peer, s uint8) *sentStream {
		st := &sentStream{}
		st.init()
		sent[rxKey{p.index, s}] = st
		return st
	}
	if o.screen {
		for _, ps := range g.calls {
			if err := ps[0].shareScreen(o.joinTimeout); err != nil {
				return fmt.Errorf("screen share: %w", err)
			}
		}
		for _, ps := range g.calls {
			p, h, l := ps[0], stream(ps[0], streamH), stream(ps[0], streamL)
			senders.Add(1)
			go func() { defer senders.Done(); p.sendScreen(stop, h, l) }()
		}
	}
	for _, ps := range g.calls {
		for _, p := range ps[:o.unmuted] {
			st := stream(p, streamAudio)
			senders.Add(1)
			go func() { defer senders.Done(); p.sendAudio(stop, st) }()
		}
	}
	defer func() { close(stop); senders.Wait() }()

	if err := g.waitFlowing(60*time.Second + time.Duration(len(all))*100*time.Millisecond); err != nil {
		return err
	}
	logf("every stream at every receiver after %.1fs", time.Since(t0).Seconds())
	time.Sleep(o.warmup)

	// SIGTERM ends the window early, and the calls then end as they would
	// have (results, then every participant leaves): a driver that holds a
	// call for as long as a scenario needs (the autoscaling e2e test) stops
	// it at a moment it chooses, not at a duration guessed in advance.
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	start := nowNs()
	g.win.end.Store(start + int64(o.duration))
	g.win.start.Store(start)
	g.emit(map[string]any{"event": "window-start"})
	select {
	case <-time.After(o.duration):
	case <-term:
		g.win.end.Store(nowNs())
		g.o.duration = time.Duration(g.win.end.Load() - start)
		logf("SIGTERM: window ended after %.1fs", g.o.duration.Seconds())
	}
	g.emit(map[string]any{"event": "window-end"})
	time.Sleep(o.drain)
	g.emit(g.result(sent, all))
	if os.Getenv("LOADGEN_DEBUG") != "" {
		g.debugGaps(sent)
	}
	return nil
}

// forEach runs f on every peer, n at a time, and returns the first error.
func forEach(ps []*peer, n int, f func(*peer) error) error {
	sem := make(chan struct{}, max(1, n))
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for _, p := range ps {
		sem <- struct{}{}
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := f(p); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// waitFlowing waits until every receiver has had a packet of every stream
// it should get: each other unmuted user's audio, and the call's screen.
func (g *gen) waitFlowing(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		missing := ""
		for _, ps := range g.calls {
			for _, r := range ps {
				for i, s := range ps {
					if s == r {
						continue
					}
					if i < g.o.unmuted && g.rxTotal(r, s.index, streamAudio) == 0 {
						missing = fmt.Sprintf("%s has no audio from %s", r.sessionID, s.sessionID)
					}
					if g.o.screen && i == 0 && g.rxTotal(r, s.index, streamH)+g.rxTotal(r, s.index, streamL) == 0 {
						missing = fmt.Sprintf("%s has no screen from %s", r.sessionID, s.sessionID)
					}
				}
			}
		}
		if missing == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not every stream arrived after %s: %s; errors: %v", timeout, missing, g.errors())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (g *gen) rxTotal(r *peer, sender uint32, stream uint8) uint64 {
	r.rx.mu.Lock()
	defer r.rx.mu.Unlock()
	if s := r.rx.streams[rxKey{sender, stream}]; s != nil {
		return s.total
	}
	return 0
}

func (g *gen) errors() []string {
	var out []string
	for _, ps := range g.calls {
		for _, p := range ps {
			p.errMu.Lock()
			out = append(out, p.errs...)
			p.errMu.Unlock()
		}
	}
	return out
}

// teardown leaves every session and closes every peer, in parallel.
func (g *gen) teardown() {
	var all []*peer
	for _, ps := range g.calls {
		all = append(all, ps...)
	}
	for _, p := range all {
		p.leave()
	}
	_ = forEach(all, 16, func(p *peer) error { p.close(); return nil })
}

// debugGaps logs, for the first receivers, which counters of each stream
// they missed inside the window: a burst or scattered loss.
func (g *gen) debugGaps(sent map[rxKey]*sentStream) {
	for _, ps := range g.calls {
		for _, r := range ps[:min(3, len(ps))] {
			for k, st := range sent {
				if k.sender == r.index || st.first.Load() < 0 {
					continue
				}
				if gaps := r.rx.gaps(k, st.first.Load(), st.last.Load()); len(gaps) > 0 {
					logf("%s missed of %d/%d (window %d..%d): %v", r.sessionID, k.sender, k.stream,
						st.first.Load(), st.last.Load(), gaps)
				}
			}
		}
	}
}
