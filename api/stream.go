package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// streamChannels maps the PostgreSQL NOTIFY channels the hub listens on to the
// Server-Sent Event names clients see. onegrid_event comes from the trigger in
// schema/0500_event_notify.sql; onegrid_alert is for hotspot alerts.
var streamChannels = map[string]string{
	"onegrid_event":      "event",
	"onegrid_event_bulk": "events_changed",
	"onegrid_alert":      "alert",
}

// streamRing is how many recent messages the hub keeps to replay to a client that
// reconnects with Last-Event-ID.
const streamRing = 512

// message is one Server-Sent Event.
type message struct {
	id    uint64
	event string
	data  []byte // one line of JSON
}

// subscriber is one SSE client. The hub closes ch when the client is dropped (its
// buffer filled up) or the hub shuts down.
type subscriber struct {
	ch chan message
}

// hub holds one dedicated LISTEN connection and fans its notifications out to SSE
// clients. It starts on the first subscriber and stops at Close.
type hub struct {
	db     *pgxpool.Pool
	log    *slog.Logger
	buffer int // messages per client before the client is dropped

	startOnce sync.Once
	started   atomic.Bool
	ready     chan struct{} // closed once the first LISTEN succeeded
	readyOnce sync.Once
	ctx       context.Context
	cancel    context.CancelFunc
	done      chan struct{} // closed when the listener goroutine has returned

	mu      sync.Mutex
	closed  bool
	clients map[*subscriber]struct{}
	ring    []message // the last streamRing messages, oldest first
	seq     uint64
}

func newHub(db *pgxpool.Pool, log *slog.Logger, buffer int) *hub {
	ctx, cancel := context.WithCancel(context.Background())
	// Ids start at the hub's start time in milliseconds, so they keep growing across
	// restarts and a client's Last-Event-ID from an earlier process never matches
	// messages it has not seen.
	return &hub{db: db, log: log, buffer: buffer, ready: make(chan struct{}), ctx: ctx, cancel: cancel,
		done: make(chan struct{}), clients: map[*subscriber]struct{}{}, seq: uint64(time.Now().UnixMilli())}
}

var errHubClosed = errors.New("stream hub closed")

// subscribe registers a client and returns the buffered messages after lastID (0:
// none), taken under the same lock so nothing falls between replay and live.
func (h *hub) subscribe(lastID uint64) (*subscriber, []message, error) {
	h.startOnce.Do(func() { h.started.Store(true); go h.run() })
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, errHubClosed
	}
	sub := &subscriber{ch: make(chan message, h.buffer)}
	h.clients[sub] = struct{}{}
	var replay []message
	if lastID > 0 {
		for _, m := range h.ring {
			if m.id > lastID {
				replay = append(replay, m)
			}
		}
	}
	return sub, replay, nil
}

func (h *hub) unsubscribe(sub *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[sub]; ok {
		delete(h.clients, sub)
		close(sub.ch)
	}
}

// publish sends a message to every client; a client whose buffer is full is
// dropped (its stream ends and its browser reconnects with Last-Event-ID).
func (h *hub) publish(event string, data []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.seq++
	m := message{id: h.seq, event: event, data: data}
	if len(h.ring) == streamRing {
		copy(h.ring, h.ring[1:])
		h.ring = h.ring[:streamRing-1]
	}
	h.ring = append(h.ring, m)
	for sub := range h.clients {
		select {
		case sub.ch <- m:
		default:
			delete(h.clients, sub)
			close(sub.ch)
			h.log.Warn("stream: dropped a slow client", "buffer", h.buffer)
		}
	}
}

// close ends every stream and the listener.
func (h *hub) close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	for sub := range h.clients {
		delete(h.clients, sub)
		close(sub.ch)
	}
	h.mu.Unlock()
	h.cancel()
	h.startOnce.Do(func() {}) // from here on the hub never starts
	if h.started.Load() {
		<-h.done // run returns promptly once ctx is cancelled
	}
}

// run keeps one LISTEN connection open until the hub closes, reconnecting with
// backoff. After a reconnect it tells clients to resynchronise, since
// notifications sent while it was away are lost.
func (h *hub) run() {
	defer close(h.done)
	backoff := 250 * time.Millisecond
	for first := true; ; first = false {
		err := h.listen(h.ctx, !first)
		if h.ctx.Err() != nil {
			return
		}
		h.log.Warn("stream: listen connection lost; reconnecting", "error", err, "in", backoff)
		select {
		case <-h.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func (h *hub) listen(ctx context.Context, reconnect bool) error {
	conn, err := pgx.ConnectConfig(ctx, h.db.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("stream: connect: %w", err)
	}
	defer conn.Close(context.Background())
	for ch := range streamChannels {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return fmt.Errorf("stream: listen %s: %w", ch, err)
		}
	}
	h.readyOnce.Do(func() { close(h.ready) })
	if reconnect {
		h.publish("resync", []byte(`{}`))
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("stream: wait: %w", err)
		}
		event, ok := streamChannels[n.Channel]
		if !ok {
			continue
		}
		data := []byte(n.Payload)
		var buf bytes.Buffer
		if err := json.Compact(&buf, data); err != nil {
			h.log.Warn("stream: notification is not JSON; ignored", "channel", n.Channel)
			continue
		}
		h.publish(event, buf.Bytes())
	}
}

// handleStream serves GET /api/v1/stream: Server-Sent Events of new events
// ("event"), bulk changes ("events_changed"), hotspot alerts ("alert") and
// "resync" after the server lost its database connection. A "ready" event opens the
// stream once the server is listening; comments keep idle connections alive.
func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) {
	if s.hub == nil {
		writeError(w, r, &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "live stream unavailable"})
		return
	}
	lastID, _ := strconv.ParseUint(r.Header.Get("Last-Event-ID"), 10, 64)
	sub, replay, err := s.hub.subscribe(lastID)
	if err != nil {
		writeError(w, r, &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "server shutting down"})
		return
	}
	defer s.hub.unsubscribe(sub)

	// Wait (briefly) for the LISTEN connection, so that "ready" means an insert made
	// from now on will be seen.
	select {
	case <-s.hub.ready:
	case <-time.After(5 * time.Second):
	case <-r.Context().Done():
		return
	}

	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	write := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.StreamWriteTimeout))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	var b bytes.Buffer
	b.WriteString("retry: 3000\n\nevent: ready\ndata: {}\n\n")
	for _, m := range replay {
		writeMessage(&b, m)
	}
	if !write(b.Bytes()) {
		return
	}
	tick := time.NewTicker(s.cfg.StreamHeartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case m, ok := <-sub.ch:
			if !ok {
				return // dropped as too slow, or shutting down
			}
			b.Reset()
			writeMessage(&b, m)
			// Send whatever else is already queued in the same write.
			for more := true; more; {
				select {
				case m, ok := <-sub.ch:
					if !ok {
						write(b.Bytes())
						return
					}
					writeMessage(&b, m)
				default:
					more = false
				}
			}
			if !write(b.Bytes()) {
				return
			}
		case <-tick.C:
			if !write([]byte(": ping\n\n")) {
				return
			}
		}
	}
}

func writeMessage(b *bytes.Buffer, m message) {
	fmt.Fprintf(b, "id: %d\nevent: %s\ndata: %s\n\n", m.id, m.event, m.data)
}
