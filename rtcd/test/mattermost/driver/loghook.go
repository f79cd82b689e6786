package main

import (
	"context"
	"log/slog"
	"strings"
)

// logHook sees every record the Calls client logs. Two of them matter to a
// test and have no event of their own: a remote track whose ID does not
// parse (the client stops its receiver and never emits RTCTrackEvent), and
// the periodic RTC monitor figures (loss rate, RTT, jitter).
type logHook struct {
	u     *user
	attrs []slog.Attr
	debug bool
}

func (h *logHook) Enabled(_ context.Context, l slog.Level) bool { return true }

func (h *logHook) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHook{u: h.u, attrs: append(append([]slog.Attr{}, h.attrs...), as...), debug: h.debug}
}

func (h *logHook) WithGroup(string) slog.Handler { return h }

func (h *logHook) Handle(_ context.Context, r slog.Record) error {
	fields := map[string]any{}
	r.Attrs(func(a slog.Attr) bool {
		fields[a.Key] = a.Value.Any()
		return true
	})
	switch {
	case r.Message == "received remote track":
		id, _ := fields["id"].(string)
		h.u.seen(id)
	case r.Message == "failed to parse track ID":
		h.u.emit("track_error", map[string]any{"error": fields["err"]})
	case r.Message == "rtc stats":
		h.u.rtcStats(fields)
	case r.Level >= slog.LevelError && !strings.Contains(r.Message, "ping msg"):
		h.u.emit("client_error", map[string]any{"msg": r.Message, "err": fields["err"]})
	}
	if h.debug || r.Level >= slog.LevelWarn {
		h.u.emit("log", map[string]any{"level": r.Level.String(), "msg": r.Message, "fields": stringify(fields)})
	}
	return nil
}

func stringify(m map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if s, ok := v.(interface{ String() string }); ok {
			out[k] = s.String()
		} else if e, ok := v.(error); ok {
			out[k] = e.Error()
		} else {
			out[k] = strings.TrimSpace(strings.ReplaceAll(strings.Trim(sprint(v), "\n"), "\n", " "))
		}
	}
	return out
}
