// A Calls client driver for tests: many users of the real Calls client
// (github.com/mattermost/rtcd/client, the one the plugin's `lt` uses), each
// joining through Mattermost's WebSocket, controlled by JSON lines on stdin
// and reporting JSON lines on stdout. It counts RTP packets per remote track,
// so a test can assert that media flows, not only that tracks were named.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"sync"
	"time"
)

type command struct {
	Op      string `json:"op"`
	User    int    `json:"user"`
	Token   string `json:"token"`
	Channel string `json:"channel"`
}

var (
	outMu sync.Mutex
	out   = json.NewEncoder(os.Stdout)
)

func emit(ev string, user int, fields map[string]any) {
	m := map[string]any{"ev": ev, "user": user, "t": time.Now().UnixMilli()}
	for k, v := range fields {
		m[k] = v
	}
	outMu.Lock()
	defer outMu.Unlock()
	_ = out.Encode(m)
}

func sprint(v any) string { return fmt.Sprint(v) }

func main() {
	siteURL := flag.String("url", "", "Mattermost site URL")
	screenIVF := flag.String("screen-ivf", "", "a VP8 IVF file played as the screen share")
	debug := flag.Bool("debug", false, "report every client log record")
	flag.Parse()
	u, err := url.Parse(*siteURL)
	if err != nil || u.Host == "" {
		fmt.Fprintln(os.Stderr, "driver: -url is required")
		os.Exit(2)
	}
	frames, err := loadIVF(*screenIVF)
	if err != nil {
		fmt.Fprintln(os.Stderr, "driver:", err)
		os.Exit(2)
	}
	users := map[int]*user{}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	emit("ready", -1, nil)
	for sc.Scan() {
		var c command
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			emit("error", -1, map[string]any{"error": "bad command: " + err.Error()})
			continue
		}
		if c.Op == "quit" {
			break
		}
		if c.Op == "stats" && c.User < 0 {
			for _, usr := range users {
				usr.reportStats()
			}
			emit("stats_done", -1, nil)
			continue
		}
		usr := users[c.User]
		if c.Op == "join" {
			if usr != nil {
				emit("error", c.User, map[string]any{"error": "already joined"})
				continue
			}
			usr = &user{id: c.User, frames: frames, debug: *debug, tracks: map[string]*remoteTrack{}}
			users[c.User] = usr
			go usr.join(u.Host, c.Token, c.Channel)
			continue
		}
		if usr == nil {
			emit("error", c.User, map[string]any{"error": "no such user", "op": c.Op})
			continue
		}
		go usr.do(c.Op)
	}
	for _, usr := range users {
		usr.leave()
	}
	emit("bye", -1, nil)
}
