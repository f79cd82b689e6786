package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	rtcd "github.com/mattermost/rtcd/service"
	"github.com/mattermost/rtcd/service/random"
)

// failure aborts a case (like testing.T.Fatal) with its message.
type failure string

// T is a tiny testing.T: fail fast, notes, cleanups.
type T struct {
	opts     *options
	name     string
	notes    []string
	cleanups []func()
	// Keys of the clients this case registered.
	keys map[string]string
}

func (t *T) Fatalf(format string, args ...any) {
	panic(failure(fmt.Sprintf(format, args...)))
}

func (t *T) Check(cond bool, format string, args ...any) {
	if !cond {
		t.Fatalf(format, args...)
	}
}

func (t *T) Note(format string, args ...any) {
	t.notes = append(t.notes, fmt.Sprintf(format, args...))
}

func (t *T) Cleanup(f func()) {
	t.cleanups = append(t.cleanups, f)
}

func (t *T) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		func() {
			defer func() { _ = recover() }()
			t.cleanups[i]()
		}()
	}
}

// Eventually polls cond until it holds or the timeout passes.
func (t *T) Eventually(timeout time.Duration, what string, cond func() (bool, string)) {
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, detail := cond()
		if ok {
			return
		}
		last = detail
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %s: %s", what, timeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func newKey() string {
	k, err := random.NewSecureString(40)
	if err != nil {
		panic(err)
	}
	return k
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *T) map[string]any {
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not a JSON object: %q", r.status, r.body)
	}
	return m
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

func (t *T) do(method, path, auth string, body string) response {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, t.opts.url+path, rd)
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// expectResult checks one of rtcd's {"code": "<status>", ...} bodies: the
// status, the code repeated as a string, and the other fields exactly.
func (t *T) expectResult(what string, r response, status int, fields map[string]string) {
	t.Check(r.status == status, "%s: status %d, want %d (body %q)", what, r.status, status, r.body)
	t.Check(strings.HasPrefix(r.header.Get("Content-Type"), "application/json"), "%s: content type %q", what, r.header.Get("Content-Type"))
	got := map[string]string{}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("%s: body is not a JSON object of strings: %q", what, r.body)
	}
	want := map[string]string{"code": fmt.Sprint(status)}
	for k, v := range fields {
		want[k] = v
	}
	t.Check(len(got) == len(want), "%s: body %v, want %v", what, got, want)
	for k, v := range want {
		if v == "*" {
			t.Check(got[k] != "", "%s: body %v lacks %q", what, got, k)
			continue
		}
		t.Check(got[k] == v, "%s: body[%q] = %q, want %q (body %q)", what, k, got[k], v, r.body)
	}
}

func (t *T) expectNotFound(method, path string) {
	r := t.do(method, path, "", "")
	t.Check(r.status == 404 && string(r.body) == "404 page not found\n",
		"%s %s: %d %q, want Go's 404 page not found", method, path, r.status, r.body)
}

// newClient is the plugin's client for (id, key), never reconnecting on
// its own (a case decides what happens after a drop).
func (t *T) newClient(id, key string) *rtcd.Client {
	c, err := rtcd.NewClient(rtcd.ClientConfig{ClientID: id, AuthKey: key, URL: t.opts.url},
		rtcd.WithClientReconnectCb(func(_ *rtcd.Client, _ int) error { return errors.New("contract: no reconnect") }))
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// registered returns a fresh client ID and key, registered the way this
// rtcd allows: by the admin when there is one, else by self-registration.
func (t *T) registered() (string, string) {
	id, key := random.NewID(), newKey()
	authID, authKey := id, key
	if t.opts.adminSecret != "" {
		authID, authKey = "admin", t.opts.adminSecret
	}
	if err := t.newClient(authID, authKey).Register(id, key); err != nil {
		t.Fatalf("register %s: %v", id, err)
	}
	if t.keys == nil {
		t.keys = map[string]string{}
	}
	t.keys[id] = key
	return id, key
}

// connected registers a client, connects its WebSocket and returns it with
// the hello it got.
func (t *T) connected() (*rtcd.Client, string, map[string]string) {
	id, key := t.registered()
	c, hello := t.connect(id, key)
	return c, id, hello
}

func (t *T) connect(id, key string) (*rtcd.Client, map[string]string) {
	c := t.newClient(id, key)
	if err := c.Connect(); err != nil {
		t.Fatalf("connect: %v", err)
	}
	msg := t.recv(c, 5*time.Second, "hello")
	hello, ok := msg.Data.(map[string]string)
	t.Check(ok, "hello data is %T, want map[string]string", msg.Data)
	return c, hello
}

// recv waits for the next message of the given type, skipping others.
func (t *T) recv(c *rtcd.Client, timeout time.Duration, typ string) rtcd.ClientMessage {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case m, ok := <-c.ReceiveCh():
			if !ok {
				t.Fatalf("waiting for %q: connection closed", typ)
			}
			if m.Type == typ {
				return m
			}
		case <-timer.C:
			t.Fatalf("no %q message within %s", typ, timeout)
		}
	}
}

// quiet asserts no message of the given type arrives within d.
func (t *T) quiet(c *rtcd.Client, d time.Duration, typ string) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case m, ok := <-c.ReceiveCh():
			if !ok {
				t.Fatalf("connection closed while expecting no %q", typ)
			}
			t.Check(m.Type != typ, "unexpected %q message: %+v", typ, m.Data)
		case <-timer.C:
			return
		}
	}
}

func (t *T) send(c *rtcd.Client, typ string, data any) {
	if err := c.Send(rtcd.ClientMessage{Type: typ, Data: data}); err != nil {
		t.Fatalf("send %s: %v", typ, err)
	}
}

type joinData struct {
	callID, userID, sessionID, channelID string
}

func newJoin() joinData {
	return joinData{callID: random.NewID(), userID: random.NewID(), sessionID: random.NewID(), channelID: random.NewID()}
}

// join sends what the plugin sends when a user joins a call.
func (t *T) join(c *rtcd.Client, j joinData) {
	t.send(c, rtcd.ClientMessageJoin, map[string]any{
		"callID":      j.callID,
		"userID":      j.userID,
		"sessionID":   j.sessionID,
		"channelID":   j.channelID,
		"av1Support":  true,
		"dcSignaling": false,
	})
}

// sessionCount polls GET /calls/{callID}/sessions through the client.
func (t *T) sessionCount(c *rtcd.Client, callID string) (int, int) {
	cfgs, code, _ := c.GetSessions(callID)
	return len(cfgs), code
}

func (t *T) waitSessions(c *rtcd.Client, callID string, want int) {
	t.Eventually(5*time.Second, fmt.Sprintf("call %s has %d sessions", callID, want), func() (bool, string) {
		n, code := t.sessionCount(c, callID)
		if want == 0 {
			return code == 404, fmt.Sprintf("status %d, %d sessions", code, n)
		}
		return code == 200 && n == want, fmt.Sprintf("status %d, %d sessions", code, n)
	})
}

func jsonBody(v any) string {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(v)
	return b.String()
}
