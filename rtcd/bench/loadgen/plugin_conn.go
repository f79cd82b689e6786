package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/vmihailenco/msgpack/v5"
)

// rtcMsg is rtcd's rtc.Message: what the Calls plugin relays between a
// browser and rtcd, with the browser's JSON (SDP, ICE) in Data.
type rtcMsg struct {
	GroupID   string `msgpack:"group_id"`
	UserID    string `msgpack:"user_id"`
	SessionID string `msgpack:"session_id"`
	CallID    string `msgpack:"call_id"`
	Type      int    `msgpack:"type"`
	Data      []byte `msgpack:"data,omitempty"`
}

// rtc message types (rtcd service/rtc/msg.go).
const (
	msgICE      = 1
	msgSDP      = 2
	msgScreenOn = 5
)

// pluginConn is one WebSocket to rtcd, as the Calls plugin holds one per
// plugin instance: every session of every call is multiplexed over it.
// Frames are two msgpack values, the type then the data.
type pluginConn struct {
	ws       *websocket.Conn
	clientID string
	wmu      sync.Mutex
	mu       sync.Mutex
	routes   map[string]*mailbox
	closed   chan struct{}
}

func dialPlugin(baseURL, clientID, authKey string) (*pluginConn, error) {
	h := http.Header{}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(clientID+":"+authKey)))
	u := "ws" + strings.TrimPrefix(baseURL, "http") + "/ws"
	ws, _, err := websocket.DefaultDialer.Dial(u, h)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", u, err)
	}
	// rtcd sends "hello" first.
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := ws.ReadMessage(); err != nil {
		return nil, fmt.Errorf("no hello: %w", err)
	}
	_ = ws.SetReadDeadline(time.Time{})
	c := &pluginConn{ws: ws, clientID: clientID, routes: map[string]*mailbox{}, closed: make(chan struct{})}
	go c.readLoop()
	return c, nil
}

func (c *pluginConn) readLoop() {
	defer close(c.closed)
	for {
		_, raw, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		dec := msgpack.NewDecoder(bytes.NewReader(raw))
		typ, err := dec.DecodeString()
		if err != nil || typ != "rtc" {
			continue // close, vad, ...: not needed to generate load
		}
		var m rtcMsg
		if err := dec.Decode(&m); err != nil {
			continue
		}
		c.mu.Lock()
		mb := c.routes[m.SessionID]
		c.mu.Unlock()
		if mb != nil {
			mb.put(m)
		}
	}
}

// mailbox queues a session's messages without bound, so the one reader of
// the shared WebSocket never waits for a slow peer: if it did, it would stop
// answering rtcd's pings and reading, and rtcd closes a plugin connection
// that does not read (ours did, with 16 MB of offers queued, in a call of
// 200).
type mailbox struct {
	mu     sync.Mutex
	q      []rtcMsg
	signal chan struct{} // has a value when q may be non-empty
}

func (m *mailbox) put(msg rtcMsg) {
	m.mu.Lock()
	m.q = append(m.q, msg)
	m.mu.Unlock()
	select {
	case m.signal <- struct{}{}:
	default:
	}
}

func (m *mailbox) take() []rtcMsg {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.q
	m.q = nil
	return q
}

// route returns the mailbox in which the messages for a session arrive.
func (c *pluginConn) route(sessionID string) *mailbox {
	mb := &mailbox{signal: make(chan struct{}, 1)}
	c.mu.Lock()
	c.routes[sessionID] = mb
	c.mu.Unlock()
	return mb
}

func (c *pluginConn) send(typ string, data any) error {
	var b bytes.Buffer
	enc := msgpack.NewEncoder(&b)
	if err := enc.EncodeMulti(typ, data); err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteMessage(websocket.BinaryMessage, b.Bytes())
}

func (c *pluginConn) join(callID, sessionID string) error {
	return c.send("join", map[string]any{
		"callID":      callID,
		"userID":      "user-" + sessionID,
		"sessionID":   sessionID,
		"channelID":   "channel-" + callID,
		"av1Support":  false,
		"dcSignaling": false,
	})
}

func (c *pluginConn) leave(sessionID string) error {
	return c.send("leave", map[string]any{"sessionID": sessionID})
}

func (c *pluginConn) rtc(callID, sessionID string, typ int, data any) error {
	m := rtcMsg{GroupID: c.clientID, UserID: "user-" + sessionID, SessionID: sessionID, CallID: callID, Type: typ}
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return err
		}
		m.Data = b
	}
	return c.send("rtc", m)
}

func (c *pluginConn) close() {
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
		time.Now().Add(time.Second))
	_ = c.ws.Close()
}
