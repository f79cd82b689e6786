package main

import (
	"encoding/json"
	"net/http"
	"syscall"
	"time"

	rtcd "github.com/mattermost/rtcd/service"
)

const noHealthRoutes = "rtcd v1.2.6 has no health routes (its chart probes /version)"

func init() {
	register(contractCase{name: "healthz", run: caseHealthz, oursOnly: noHealthRoutes})
	register(contractCase{name: "readyz", run: caseReadyz, oursOnly: noHealthRoutes})
	register(contractCase{name: "drain", run: caseDrain,
		oursOnly: "rtcd v1.2.6 keeps accepting new calls on SIGTERM and has no readiness to fail"})
}

func (t *T) status(r response) (int, string) {
	var m map[string]string
	_ = json.Unmarshal(r.body, &m)
	return r.status, m["status"]
}

func caseHealthz(t *T) {
	code, st := t.status(t.do("GET", "/healthz", "", ""))
	t.Check(code == 200 && st == "ok", "/healthz: %d %q", code, st)
	t.expectNotFound("POST", "/healthz")
}

func caseReadyz(t *T) {
	code, st := t.status(t.do("GET", "/readyz", "", ""))
	t.Check(code == 200 && st == "ready", "/readyz: %d %q", code, st)
}

func (t *T) alive() bool {
	return syscall.Kill(t.opts.pid, 0) == nil
}

// SIGTERM: readiness fails at once, new calls are refused (the plugin gets
// `close` for the session), joins to running calls work, a second SIGTERM
// changes nothing, and the process exits only when the last session ends.
func caseDrain(t *T) {
	t.Check(t.opts.pid > 0, "needs -pid")
	c, id, _ := t.connected()
	running := newJoin()
	t.join(c, running)
	t.waitSessions(c, running.callID, 1)
	code, _ := t.status(t.do("GET", "/readyz", "", ""))
	t.Check(code == 200, "/readyz before SIGTERM: %d", code)

	t.Check(syscall.Kill(t.opts.pid, syscall.SIGTERM) == nil, "SIGTERM failed")
	t.Eventually(time.Second, "/readyz fails after SIGTERM", func() (bool, string) {
		code, st := t.status(t.do("GET", "/readyz", "", ""))
		return code == 503 && st == "draining", st
	})
	code, _ = t.status(t.do("GET", "/healthz", "", ""))
	t.Check(code == 200, "/healthz while draining: %d", code)

	// A join that would start a call here is refused with `close`.
	fresh := newJoin()
	t.join(c, fresh)
	m := t.recv(c, 5*time.Second, rtcd.ClientMessageClose)
	t.Check(m.Data.(map[string]string)["sessionID"] == fresh.sessionID, "close %+v, want the new call's session", m.Data)
	_, code, _ = c.GetSessions(fresh.callID)
	t.Check(code == 404, "refused call exists: %d", code)

	// A join to the running call is accepted.
	second := newJoin()
	second.callID = running.callID
	t.join(c, second)
	t.waitSessions(c, running.callID, 2)
	t.quiet(c, 300*time.Millisecond, rtcd.ClientMessageClose)

	// The plugin can still (re)connect and authenticate while draining.
	c2, hello := t.connect(id, t.keys[id])
	t.Check(hello["clientID"] == id, "hello while draining %v", hello)

	t.Check(syscall.Kill(t.opts.pid, syscall.SIGTERM) == nil, "second SIGTERM failed")
	time.Sleep(time.Second)
	t.Check(t.alive(), "process exited on a second SIGTERM with calls running")
	t.waitSessions(c, running.callID, 2)

	t.send(c2, rtcd.ClientMessageLeave, map[string]string{"sessionID": running.sessionID})
	t.recv(c, 5*time.Second, rtcd.ClientMessageClose)
	time.Sleep(500 * time.Millisecond)
	t.Check(t.alive(), "process exited with a session left")
	code, _ = t.status(t.do("GET", "/readyz", "", ""))
	t.Check(code == 503, "/readyz while draining: %d", code)

	t.send(c, rtcd.ClientMessageLeave, map[string]string{"sessionID": second.sessionID})
	t.Eventually(10*time.Second, "API closed after the last session ended", func() (bool, string) {
		resp, err := http.Get(t.opts.url + "/version")
		if err == nil {
			resp.Body.Close()
			return false, resp.Status
		}
		return true, ""
	})
	t.Note("exited after the last session ended")
}
