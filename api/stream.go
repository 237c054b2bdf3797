package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/scope"
	"github.com/onegrid/onegrid/tiles"
)

// streamChannels maps the PostgreSQL NOTIFY channels the hub listens on to the
// Server-Sent Event names clients see. onegrid_event comes from the trigger in
// schema/0500_event_notify.sql (its payload as of 0780); onegrid_alert is for
// hotspot alerts. The hub also listens on the tile channel (tiles.Channel), only
// to hear when the event taxonomy's sensitive categories change.
var streamChannels = map[string]string{
	"onegrid_event":      "event",
	"onegrid_event_bulk": "events_changed",
	"onegrid_alert":      "alert",
}

// streamRing is how many recent messages the hub keeps to replay to a client that
// reconnects with Last-Event-ID.
const streamRing = 512

// message is one Server-Sent Event, with what decides who receives it.
type message struct {
	id    uint64
	event string
	data  []byte // one line of JSON, as a client who may see it all receives it

	need      []string // a client must carry one of these capabilities (none: everyone)
	located   bool     // loc places the message: only clients whose scope contains it
	loc       string   // the unit code of an event (grid, else admin, else ""), the area of an alert
	category  string   // an event's category
	sensitive bool     // an event of a sensitive category: coarse for clients without the duty
	coarse    []byte   // the event coarsened to its resolution-9 cell
	scoped    []byte   // events_changed for a client whose scope is not everything
}

// forScope returns what a client with the scope receives of m, and whether it
// receives it at all: events need rows and lie in the jurisdiction (a sensitive
// one coarsened outside the client's duties); alerts need aggregates and an
// area inside the jurisdiction; a bulk insert's count only for everything.
func (m *message) forScope(sc scope.Scope) ([]byte, bool) {
	if len(m.need) > 0 {
		ok := false
		for _, c := range m.need {
			ok = ok || sc.Can(c)
		}
		if !ok {
			return nil, false
		}
	}
	if m.located && !sc.Contains(m.loc) {
		return nil, false
	}
	if m.sensitive && !sc.Duty(m.category) {
		return m.coarse, true
	}
	if m.scoped != nil && !sc.All() {
		return m.scoped, true
	}
	return m.data, true
}

// subscriber is one SSE client. The hub closes ch when the client is dropped (its
// buffer filled up) or the hub shuts down.
type subscriber struct {
	ch chan message
	sc scope.Scope // what the client may receive
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

	// sens is the event taxonomy's sensitive categories, read on every connect
	// and again when they change (nil until read: every event counts as sensitive).
	sens atomic.Pointer[tiles.Sensitivity]
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

// subscribe registers a client with its scope and returns the buffered messages
// after lastID (0: none) that it may receive, taken under the same lock so
// nothing falls between replay and live.
func (h *hub) subscribe(lastID uint64, sc scope.Scope) (*subscriber, []message, error) {
	h.startOnce.Do(func() { h.started.Store(true); go h.run() })
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, errHubClosed
	}
	sub := &subscriber{ch: make(chan message, h.buffer), sc: sc}
	h.clients[sub] = struct{}{}
	var replay []message
	if lastID > 0 {
		for i := range h.ring {
			m := &h.ring[i]
			if m.id <= lastID {
				continue
			}
			if data, ok := m.forScope(sc); ok {
				replay = append(replay, message{id: m.id, event: m.event, data: data})
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

// publish sends a message to every client that may receive it (forScope); a
// client whose buffer is full is dropped (its stream ends and its browser
// reconnects with Last-Event-ID).
func (h *hub) publish(m message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.seq++
	m.id = h.seq
	if len(h.ring) == streamRing {
		copy(h.ring, h.ring[1:])
		h.ring = h.ring[:streamRing-1]
	}
	h.ring = append(h.ring, m)
	for sub := range h.clients {
		data, ok := m.forScope(sub.sc)
		if !ok {
			continue
		}
		select {
		case sub.ch <- message{id: m.id, event: m.event, data: data}:
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
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{tiles.Channel}.Sanitize()); err != nil {
		return fmt.Errorf("stream: listen %s: %w", tiles.Channel, err)
	}
	if err := h.readSensitivity(ctx, conn); err != nil {
		return err
	}
	h.readyOnce.Do(func() { close(h.ready) })
	if reconnect {
		h.publish(message{event: "resync", data: []byte(`{}`)})
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("stream: wait: %w", err)
		}
		if n.Channel == tiles.Channel {
			if slices.Contains(strings.Split(n.Payload, ","), "event_categories") {
				if err := h.readSensitivity(ctx, conn); err != nil {
					return err
				}
			}
			continue
		}
		event, ok := streamChannels[n.Channel]
		if !ok {
			continue
		}
		m, err := h.message(event, []byte(n.Payload))
		if err != nil {
			h.log.Warn("stream: notification unreadable; ignored", "channel", n.Channel, "error", err)
			continue
		}
		h.publish(m)
	}
}

// readSensitivity reads the sensitive categories on the listen connection.
func (h *hub) readSensitivity(ctx context.Context, conn *pgx.Conn) error {
	s, err := tiles.ReadSensitivity(ctx, conn)
	if err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	h.sens.Store(s)
	return nil
}

// eventNote is the payload of onegrid_event (schema/0780_scoped_live.sql):
// what clients receive, and the event's H3 cell, which coarsening needs.
type eventNote struct {
	eventFields
	H3 *int64 `json:"h3"`
}

// eventFields are an event's values the hub passes on unchanged: they stay raw,
// so that clients get them as the database wrote them. No title, no personal
// data.
type eventFields struct {
	ID         json.RawMessage `json:"id"`
	Category   string          `json:"category_code"`
	Severity   json.RawMessage `json:"severity"`
	Status     json.RawMessage `json:"status"`
	ReportedAt json.RawMessage `json:"reported_at"`
	Lon        json.RawMessage `json:"lon"`
	Lat        json.RawMessage `json:"lat"`
	GridCode   *string         `json:"grid_code"`
	AdminCode  *string         `json:"admin_code"`
}

// eventOut is an event as clients receive it: for a sensitive event outside
// the client's duties the centre of its resolution-9 cell instead of its
// point, with coarsened: true.
type eventOut struct {
	eventFields
	Coarse bool `json:"coarsened,omitempty"`
}

// message turns a notification into a message with its audience.
func (h *hub) message(event string, payload []byte) (message, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, payload); err != nil {
		return message{}, err
	}
	m := message{event: event, data: buf.Bytes()}
	switch event {
	case "event":
		var n eventNote
		if err := json.Unmarshal(payload, &n); err != nil {
			return message{}, err
		}
		for _, v := range []*json.RawMessage{&n.ID, &n.Severity, &n.Status, &n.ReportedAt, &n.Lon, &n.Lat} {
			if len(*v) == 0 {
				*v = json.RawMessage("null")
			}
		}
		m.need, m.located, m.category = []string{scope.CanRows}, true, n.Category
		switch {
		case n.GridCode != nil:
			m.loc = *n.GridCode
		case n.AdminCode != nil:
			m.loc = *n.AdminCode
		}
		out := eventOut{eventFields: n.eventFields}
		var err error
		if m.data, err = json.Marshal(out); err != nil {
			return message{}, err
		}
		sens := h.sens.Load()
		m.sensitive = sens == nil || sens.Sensitive(n.Category)
		if m.sensitive {
			if out.Lon, out.Lat, err = coarsePoint(n); err != nil {
				return message{}, err
			}
			out.Coarse = true
			if m.coarse, err = json.Marshal(out); err != nil {
				return message{}, err
			}
		}
	case "alert":
		var a struct {
			Area *string `json:"area"`
		}
		if err := json.Unmarshal(payload, &a); err != nil {
			return message{}, err
		}
		m.need, m.located = []string{scope.CanAggregates}, true
		if a.Area != nil {
			m.loc = *a.Area
		}
	case "events_changed":
		m.need, m.scoped = []string{scope.CanRows, scope.CanAggregates}, []byte(`{}`)
	}
	return m, nil
}

// coarsePoint returns the centre of the event's cell at tiles.CoarseRes
// (resolution 9), rounded as the trigger rounds points (7 decimals).
func coarsePoint(n eventNote) (lon, lat json.RawMessage, err error) {
	var cell int64
	if n.H3 != nil {
		cell = geo.ParentBits(*n.H3, tiles.CoarseRes)
	} else {
		var x, y float64
		if err := json.Unmarshal(n.Lon, &x); err != nil {
			return nil, nil, err
		}
		if err := json.Unmarshal(n.Lat, &y); err != nil {
			return nil, nil, err
		}
		if cell, err = geo.CellAt(x, y, tiles.CoarseRes); err != nil {
			return nil, nil, err
		}
	}
	if cell == 0 {
		return json.RawMessage("null"), json.RawMessage("null"), nil
	}
	c := geo.CellCenter(cell)
	round := func(v float64) json.RawMessage {
		return json.RawMessage(strconv.FormatFloat(math.Round(v*1e7)/1e7, 'f', -1, 64))
	}
	return round(c[0]), round(c[1]), nil
}

// handleStream serves GET /api/v1/stream: Server-Sent Events of new events
// ("event"), bulk changes ("events_changed"), hotspot alerts ("alert") and
// "resync" after the server lost its database connection, each only as the
// caller's scope allows (message.forScope), replays included. A "ready" event
// opens the stream once the server is listening; comments keep idle
// connections alive. The anonymous public (--public-units) gets no stream: a
// connection held open per visitor, for alerts it can read in the aggregates.
func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) {
	if p := principal(r); p != nil && p.Via == "public" {
		s.fail(w, r, &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "the live stream needs a signed-in user"})
		return
	}
	if s.hub == nil {
		writeError(w, r, &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "live stream unavailable"})
		return
	}
	lastID, _ := strconv.ParseUint(r.Header.Get("Last-Event-ID"), 10, 64)
	sub, replay, err := s.hub.subscribe(lastID, scopeOf(r))
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
