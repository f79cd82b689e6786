package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	rtcd "github.com/mattermost/rtcd/service"
	"github.com/mattermost/rtcd/service/ws"
	"github.com/vmihailenco/msgpack/v5"
)

func init() {
	register(contractCase{name: "ws-hello", run: caseWSHello})
	register(contractCase{name: "join-sessions", run: caseJoinSessions})
	register(contractCase{name: "join-existing-session", run: caseJoinExisting})
	register(contractCase{name: "leave", run: caseLeave})
	register(contractCase{name: "reconnect", run: caseReconnect})
	register(contractCase{name: "reconnect-close-routing", run: caseReconnectCloseRouting,
		oursOnly: "rtcd v1.2.6 sends `close` to the connection that joined, which a reconnect has replaced"})
	register(contractCase{name: "ws-frame-limit", run: caseWSFrameLimit})
	register(contractCase{name: "ws-malformed", run: caseWSMalformed,
		oursOnly: "rtcd v1.2.6 logs a frame it cannot unpack and keeps the connection open"})
	register(contractCase{name: "ws-heartbeat", run: caseWSHeartbeat, background: true})
	register(contractCase{name: "metrics-names", run: caseMetricsNames})
}

func (t *T) wsURL() string {
	return "ws" + strings.TrimPrefix(t.opts.url, "http") + "/ws"
}

// rawConn is a plain gorilla connection, for what the plugin's client
// cannot do (malformed frames, ignoring pings).
func (t *T) rawConn(id, key string) *websocket.Conn {
	h := http.Header{}
	h.Set("Authorization", basic(id, key))
	c, _, err := websocket.DefaultDialer.Dial(t.wsURL(), h)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func frame(typ string, data any) []byte {
	var b bytes.Buffer
	enc := msgpack.NewEncoder(&b)
	if err := enc.EncodeMulti(typ, data); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// closeCode reads until the server closes the connection and returns the
// close code (-1 when the connection just dropped).
func closeCode(c *websocket.Conn, timeout time.Duration) (int, error) {
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, nil
		}
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			return 0, err
		}
		return -1, nil
	}
}

func caseWSHello(t *T) {
	c1, id, hello := t.connected()
	_ = c1
	t.Check(hello["clientID"] == id, "hello clientID %q, want %q", hello["clientID"], id)
	t.Check(len(hello["connID"]) == 26, "hello connID %q is not a 26-character ID", hello["connID"])
	t.Check(len(hello) == 2, "hello %v, want exactly clientID and connID", hello)

	// A bearer token from /login authenticates the WebSocket too.
	tok := t.loginToken(id)
	wc, err := ws.NewClient(ws.ClientConfig{URL: t.wsURL(), AuthToken: tok, AuthType: ws.BearerClientAuthType})
	t.Check(err == nil, "bearer WebSocket: %v", err)
	t.Cleanup(func() { _ = wc.Close() })
	select {
	case m := <-wc.ReceiveCh():
		var cm rtcd.ClientMessage
		t.Check(cm.Unpack(m.Data) == nil && cm.Type == "hello", "first bearer message %q", m.Data)
		h := cm.Data.(map[string]string)
		t.Check(h["clientID"] == id && h["connID"] != hello["connID"], "bearer hello %v", h)
	case <-time.After(5 * time.Second):
		t.Fatalf("no hello on the bearer connection")
	}
}

// loginToken logs the client in again with its key (kept by registered()).
func (t *T) loginToken(id string) string {
	key := t.keys[id]
	r := login(t, id, key)
	t.Check(r.status == 200, "login: %d %q", r.status, r.body)
	return r.json(t)["bearerToken"].(string)
}

func caseJoinSessions(t *T) {
	c, id, _ := t.connected()
	j := newJoin()
	t.join(c, j)
	t.waitSessions(c, j.callID, 1)

	cfgs, code, err := c.GetSessions(j.callID)
	t.Check(err == nil && code == 200 && len(cfgs) == 1, "GetSessions: %d %v", code, err)
	s := cfgs[0]
	t.Check(s.GroupID == id && s.CallID == j.callID && s.UserID == j.userID && s.SessionID == j.sessionID,
		"session %+v", s)
	t.Check(s.Props.ChannelID() == j.channelID && s.Props.AV1Support() && !s.Props.DCSignaling(), "props %+v", s.Props)

	one, code, err := c.GetSession(j.callID, j.sessionID)
	t.Check(err == nil && code == 200 && one.SessionID == j.sessionID, "GetSession: %d %v", code, err)

	// Raw field names, as the plugin decodes them.
	r := t.do("GET", "/calls/"+j.callID+"/sessions/"+j.sessionID, basic(id, t.keys[id]), "")
	for _, f := range []string{`"GroupID"`, `"CallID"`, `"UserID"`, `"SessionID"`, `"Props"`, `"channelID"`, `"av1Support"`, `"dcSignaling"`} {
		t.Check(bytes.Contains(r.body, []byte(f)), "session JSON %q lacks %s", r.body, f)
	}

	_, code, _ = c.GetSession(j.callID, "nosuchsession")
	t.Check(code == 404, "unknown session: %d", code)
	_, code, _ = c.GetSessions("nosuchcall")
	t.Check(code == 404, "unknown call: %d", code)
	r = t.do("GET", "/calls/nosuchcall/sessions", basic(id, t.keys[id]), "")
	t.Check(string(r.body) == "failed to get session configs: call not found\n", "unknown call body %q", r.body)

	// Calls are per client: another client does not see them.
	other, otherKey := t.registered()
	_, code, _ = t.newClient(other, otherKey).GetSessions(j.callID)
	t.Check(code == 404, "another client sees the call: %d", code)

	t.send(c, rtcd.ClientMessageLeave, map[string]string{"sessionID": j.sessionID})
	t.waitSessions(c, j.callID, 0)
}

func caseJoinExisting(t *T) {
	c, _, _ := t.connected()
	j := newJoin()
	t.join(c, j)
	t.waitSessions(c, j.callID, 1)
	dup := j
	dup.userID = "someoneelse"
	t.join(c, dup)
	t.quiet(c, 500*time.Millisecond, rtcd.ClientMessageClose)
	cfg, code, _ := c.GetSession(j.callID, j.sessionID)
	t.Check(code == 200 && cfg.UserID == j.userID, "existing session changed by a second join: %d %+v", code, cfg)
	n, _ := t.sessionCount(c, j.callID)
	t.Check(n == 1, "%d sessions after a duplicate join", n)
	t.send(c, rtcd.ClientMessageLeave, map[string]string{"sessionID": j.sessionID})
	t.waitSessions(c, j.callID, 0)
}

func caseLeave(t *T) {
	c, _, _ := t.connected()
	j1, j2 := newJoin(), newJoin()
	j2.callID = j1.callID
	t.join(c, j1)
	t.join(c, j2)
	t.waitSessions(c, j1.callID, 2)

	t.send(c, rtcd.ClientMessageLeave, map[string]string{"sessionID": j1.sessionID})
	m := t.recv(c, 5*time.Second, rtcd.ClientMessageClose)
	data, ok := m.Data.(map[string]string)
	t.Check(ok && data["sessionID"] == j1.sessionID && len(data) == 1, "close %+v, want {sessionID: %s}", m.Data, j1.sessionID)
	t.waitSessions(c, j1.callID, 1)

	// Leaving a session that does not exist changes nothing.
	t.send(c, rtcd.ClientMessageLeave, map[string]string{"sessionID": "nosuchsession"})
	t.quiet(c, 500*time.Millisecond, rtcd.ClientMessageClose)

	t.send(c, rtcd.ClientMessageLeave, map[string]string{"sessionID": j2.sessionID})
	t.recv(c, 5*time.Second, rtcd.ClientMessageClose)
	t.waitSessions(c, j1.callID, 0)
}

// The plugin's `reconnect`: a session moves to another connection of the
// same client (e.g. after a Mattermost node restart); sessions outlive the
// connection they joined on.
func caseReconnect(t *T) {
	c1, id, _ := t.connected()
	j := newJoin()
	t.join(c1, j)
	t.waitSessions(c1, j.callID, 1)

	c2, _ := t.connect(id, t.keys[id])
	t.send(c2, rtcd.ClientMessageReconnect, map[string]string{"sessionID": j.sessionID})
	_ = c1.Close()
	time.Sleep(200 * time.Millisecond)
	t.waitSessions(c2, j.callID, 1)

	t.send(c2, rtcd.ClientMessageLeave, map[string]string{"sessionID": j.sessionID})
	t.waitSessions(c2, j.callID, 0)
}

func caseReconnectCloseRouting(t *T) {
	c1, id, _ := t.connected()
	j := newJoin()
	t.join(c1, j)
	t.waitSessions(c1, j.callID, 1)
	c2, _ := t.connect(id, t.keys[id])
	t.send(c2, rtcd.ClientMessageReconnect, map[string]string{"sessionID": j.sessionID})
	_ = c1.Close()
	time.Sleep(200 * time.Millisecond)
	t.send(c2, rtcd.ClientMessageLeave, map[string]string{"sessionID": j.sessionID})
	m := t.recv(c2, 5*time.Second, rtcd.ClientMessageClose)
	t.Check(m.Data.(map[string]string)["sessionID"] == j.sessionID, "close %+v", m.Data)
}

// 1 MB frames pass, larger ones cost the connection (close 1009).
func caseWSFrameLimit(t *T) {
	id, key := t.registered()
	conn := t.rawConn(id, key)
	// A well-formed message of an unknown type, exactly 1 MiB long.
	hdr := frame("contract-padding", []byte{})
	pad := 1024*1024 - len(hdr) - 4
	big := frame("contract-padding", make([]byte, pad))
	t.Check(len(big) <= 1024*1024, "frame is %d bytes", len(big))
	t.Check(conn.WriteMessage(websocket.BinaryMessage, big) == nil, "write 1 MiB frame")
	j := newJoin()
	t.Check(conn.WriteMessage(websocket.BinaryMessage, frame("join", map[string]any{
		"callID": j.callID, "userID": j.userID, "sessionID": j.sessionID, "channelID": j.channelID,
	})) == nil, "write join")
	c := t.newClient(id, key)
	t.waitSessions(c, j.callID, 1)
	t.Check(conn.WriteMessage(websocket.BinaryMessage, frame("leave", map[string]string{"sessionID": j.sessionID})) == nil, "write leave")
	t.waitSessions(c, j.callID, 0)

	over := make([]byte, 1024*1024+1)
	copy(over, big)
	t.Check(conn.WriteMessage(websocket.BinaryMessage, over) == nil, "write oversized frame")
	code, err := closeCode(conn, 5*time.Second)
	t.Check(err == nil && code == websocket.CloseMessageTooBig, "oversized frame: close code %d (%v), want 1009", code, err)
	info, err := t.newClient(id, key).GetVersionInfo()
	t.Check(err == nil && info.BuildVersion != "x", "server unhealthy after an oversized frame: %v", err)
}

func caseWSMalformed(t *T) {
	id, key := t.registered()
	bystander, _ := t.connect(id, key)
	for i, bad := range [][]byte{
		{0xc1},                     // never-used msgpack byte
		{0x92, 0x01},               // truncated array
		frame("join", "not a map"), // join data must be a map
		{0xa4, 'j', 'o', 'i', 'n'}, // type without data
		frame("rtc", map[string]any{"type": "x"}),
	} {
		conn := t.rawConn(id, key)
		t.Check(conn.WriteMessage(websocket.BinaryMessage, bad) == nil, "write frame %d", i)
		code, err := closeCode(conn, 5*time.Second)
		t.Check(err == nil && code == websocket.CloseInvalidFramePayloadData, "malformed frame %d (%x): close code %d (%v), want 1007", i, bad, code, err)
	}
	conn := t.rawConn(id, key)
	t.Check(conn.WriteMessage(websocket.TextMessage, []byte("hello")) == nil, "write text frame")
	code, err := closeCode(conn, 5*time.Second)
	t.Check(err == nil && code == websocket.CloseUnsupportedData, "text frame: close code %d (%v), want 1003", code, err)

	// The other connection of the same client carries on.
	j := newJoin()
	t.join(bystander, j)
	t.waitSessions(bystander, j.callID, 1)
	t.send(bystander, rtcd.ClientMessageLeave, map[string]string{"sessionID": j.sessionID})
	t.recv(bystander, 5*time.Second, rtcd.ClientMessageClose)
}

// A ping every 10 s; a connection that answers none is dropped after 20 s,
// one that answers stays.
func caseWSHeartbeat(t *T) {
	id, key := t.registered()
	start := time.Now()
	silent := t.rawConn(id, key)
	var silentPings atomic.Int32
	silent.SetPingHandler(func(string) error { silentPings.Add(1); return nil })
	alive := t.rawConn(id, key)
	var alivePings atomic.Int32
	alive.SetPingHandler(func(s string) error {
		alivePings.Add(1)
		return alive.WriteControl(websocket.PongMessage, []byte(s), time.Now().Add(time.Second))
	})
	aliveErr := make(chan error, 1)
	go func() {
		for {
			if _, _, err := alive.ReadMessage(); err != nil {
				aliveErr <- err
				return
			}
		}
	}()

	_ = silent.SetReadDeadline(time.Now().Add(30 * time.Second))
	var err error
	for err == nil {
		_, _, err = silent.ReadMessage()
	}
	closedAfter := time.Since(start)
	t.Check(closedAfter > 15*time.Second && closedAfter < 26*time.Second,
		"silent connection dropped after %s (%v), want about 20 s", closedAfter.Round(time.Millisecond), err)
	t.Check(silentPings.Load() >= 1, "no ping within %s", closedAfter)
	select {
	case err := <-aliveErr:
		t.Fatalf("answering connection dropped: %v", err)
	default:
	}
	t.Check(alivePings.Load() >= 2, "%d pings in %s, want one every 10 s", alivePings.Load(), closedAfter)
	t.Note("silent connection dropped after %s, %d pings", closedAfter.Round(time.Millisecond), alivePings.Load())
}

func caseMetricsNames(t *T) {
	c, id, _ := t.connected()
	j := newJoin()
	t.join(c, j)
	t.waitSessions(c, j.callID, 1)

	r := t.do("GET", "/metrics", "", "")
	t.Check(r.status == 200, "GET /metrics: %d", r.status)
	text := string(r.body)
	for _, want := range []string{
		fmt.Sprintf("rtcd_rtc_sessions_total{groupID=%q} 1", id),
		fmt.Sprintf("rtcd_ws_connections_total{clientID=%q} 1", id),
		fmt.Sprintf("rtcd_ws_messages_total{clientID=%q,direction=\"in\",type=\"join\"} 1", id),
		"# TYPE rtcd_rtc_sessions_total gauge",
		"# TYPE rtcd_ws_connections_total gauge",
		"# TYPE rtcd_ws_messages_total counter",
		"\nrtcd_process_cpu_seconds_total ",
		"\nrtcd_process_open_fds ",
		"\nrtcd_process_max_fds ",
		"\nrtcd_process_resident_memory_bytes ",
		"\nrtcd_process_virtual_memory_bytes ",
		"\nrtcd_process_virtual_memory_max_bytes ",
		"\nrtcd_process_start_time_seconds ",
	} {
		t.Check(strings.Contains(text, want), "metrics lack %q", want)
	}
	t.send(c, rtcd.ClientMessageLeave, map[string]string{"sessionID": j.sessionID})
	t.recv(c, 5*time.Second, rtcd.ClientMessageClose)
	r = t.do("GET", "/metrics", "", "")
	t.Check(strings.Contains(string(r.body), fmt.Sprintf("rtcd_rtc_sessions_total{groupID=%q} 0", id)), "session gauge not back to 0")
}
