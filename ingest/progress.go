package ingest

import (
	"context"
	"io"
	"sync/atomic"
	"time"
)

// Progress is a snapshot of a running load.
type Progress struct {
	Phase   string // "reading", "checking", "linking", "rejects", "done"
	Rows    int64  // rows read so far
	Bytes   int64  // bytes of the file read so far
	Size    int64  // file size in bytes, 0 if unknown
	Elapsed time.Duration
}

// RowsPerSecond is the read rate so far.
func (p Progress) RowsPerSecond() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Rows) / p.Elapsed.Seconds()
}

// ETA estimates the time left from the share of the file read, 0 if unknown.
func (p Progress) ETA() time.Duration {
	if p.Size <= 0 || p.Bytes <= 0 || p.Bytes >= p.Size {
		return 0
	}
	return time.Duration(float64(p.Elapsed) * float64(p.Size-p.Bytes) / float64(p.Bytes))
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// tracker reports progress every interval while a load runs.
type tracker struct {
	report func(Progress)
	start  time.Time
	rows   atomic.Int64
	bytes  *countingReader
	size   int64
	phase  atomic.Value
	stop   context.CancelFunc
	done   chan struct{}
}

func newTracker(report func(Progress), bytes *countingReader, size int64) *tracker {
	t := &tracker{report: report, start: time.Now(), bytes: bytes, size: size, done: make(chan struct{})}
	t.phase.Store("reading")
	if report == nil {
		close(t.done)
		t.stop = func() {}
		return t
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.stop = cancel
	go func() {
		defer close(t.done)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				t.report(t.snapshot())
			}
		}
	}()
	return t
}

func (t *tracker) snapshot() Progress {
	p := Progress{Phase: t.phase.Load().(string), Rows: t.rows.Load(), Size: t.size, Elapsed: time.Since(t.start)}
	if t.bytes != nil {
		p.Bytes = t.bytes.n.Load()
	}
	return p
}

func (t *tracker) setPhase(p string) {
	t.phase.Store(p)
	if t.report != nil {
		t.report(t.snapshot())
	}
}

// finish stops the reports and sends the last one.
func (t *tracker) finish() {
	t.stop()
	<-t.done
	if t.report != nil {
		t.phase.Store("done")
		t.report(t.snapshot())
	}
}
