// Command contract checks that an rtcd behaves like rtcd v1.2.6 towards the
// Mattermost Calls plugin, talking to it over HTTP and WebSocket through the
// client library the plugin itself uses (github.com/mattermost/rtcd/service).
//
// It runs the named cases against one running rtcd and prints one JSON line
// per case: {"name","ok","skipped","detail"}. Cases marked oursOnly cover
// what our rtcd does beyond rtcd v1.2.6 (health, draining, ...): with
// -impl rtcd they are skipped, with the reason printed.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

type options struct {
	url         string
	adminSecret string
	impl        string
	pid         int
	clientID    string
	authKey     string
}

type caseFunc func(t *T)

type contractCase struct {
	name string
	run  caseFunc
	// Non-empty: only our rtcd is expected to pass; the text says why rtcd
	// v1.2.6 does not.
	oursOnly string
	// Runs concurrently with the others (it mostly waits).
	background bool
}

type result struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Skipped bool   `json:"skipped,omitempty"`
	Detail  string `json:"detail,omitempty"`
	Seconds string `json:"seconds"`
}

var allCases = map[string]contractCase{}

func register(c contractCase) {
	allCases[c.name] = c
}

func main() {
	var o options
	var cases string
	flag.StringVar(&o.url, "url", "", "base URL of the rtcd under test, e.g. http://127.0.0.1:8045")
	flag.StringVar(&o.adminSecret, "admin-secret", "", "the admin secret key, when the admin client is enabled")
	flag.StringVar(&o.impl, "impl", "ours", `"rtcd" (the real rtcd v1.2.6) or "ours"`)
	flag.IntVar(&o.pid, "pid", 0, "process ID of the rtcd under test (drain case)")
	flag.StringVar(&o.clientID, "client-id", "", "client ID for the persist-* cases")
	flag.StringVar(&o.authKey, "auth-key", "", "auth key for the persist-* cases")
	flag.StringVar(&cases, "cases", "", "comma-separated case names; \"list\" prints them")
	flag.Parse()

	if cases == "list" {
		for name, c := range allCases {
			fmt.Printf("%s\toursOnly=%t\n", name, c.oursOnly != "")
		}
		return
	}
	if o.url == "" || cases == "" {
		fmt.Fprintln(os.Stderr, "usage: contract -url URL -cases a,b,c [-admin-secret S] [-impl rtcd|ours] [-pid N]")
		os.Exit(2)
	}

	out := json.NewEncoder(os.Stdout)
	var mu sync.Mutex
	emit := func(r result) {
		mu.Lock()
		defer mu.Unlock()
		_ = out.Encode(r)
	}

	var wg sync.WaitGroup
	var foreground []contractCase
	for _, name := range strings.Split(cases, ",") {
		c, ok := allCases[name]
		if !ok {
			emit(result{Name: name, Detail: "unknown case"})
			continue
		}
		if c.oursOnly != "" && o.impl == "rtcd" {
			emit(result{Name: name, OK: true, Skipped: true, Detail: "ours only: " + c.oursOnly})
			continue
		}
		if c.background {
			wg.Add(1)
			go func() {
				defer wg.Done()
				emit(runCase(c, &o))
			}()
			continue
		}
		foreground = append(foreground, c)
	}
	for _, c := range foreground {
		emit(runCase(c, &o))
	}
	wg.Wait()
}

func runCase(c contractCase, o *options) (r result) {
	start := time.Now()
	t := &T{opts: o, name: c.name}
	r.Name = c.name
	defer func() {
		r.Seconds = fmt.Sprintf("%.2f", time.Since(start).Seconds())
		t.cleanup()
		if p := recover(); p != nil {
			if f, ok := p.(failure); ok {
				r.Detail = string(f)
				return
			}
			r.Detail = fmt.Sprintf("panic: %v", p)
			return
		}
		r.OK = true
		r.Detail = strings.Join(t.notes, "; ")
	}()
	c.run(t)
	return r
}
