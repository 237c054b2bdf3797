package ingest

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// stageTable is the name of a load's staging table: a temporary table, so it
// writes no WAL and disappears with the transaction.
const stageTable = "ingest_stage"

// createStage creates the staging table for cols in tx.
func createStage(ctx context.Context, tx pgx.Tx, name string, cols []stageCol) error {
	defs := make([]string, len(cols))
	for i, c := range cols {
		defs[i] = pgx.Identifier{c.name}.Sanitize() + " " + c.pgType
	}
	sql := "CREATE TEMP TABLE " + pgx.Identifier{name}.Sanitize() + " (" + strings.Join(defs, ", ") + ") ON COMMIT DROP"
	if _, err := tx.Exec(ctx, sql); err != nil {
		return fmt.Errorf("create staging table: %w", err)
	}
	return nil
}

func colNames(cols []stageCol) []string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	return names
}

// batchSize is how many records a worker converts at a time.
const batchSize = 512

// pipeline reads records in one goroutine, converts them in workers and hands
// the rows to CopyFrom. Rows come out in no particular order: each carries its line.
type pipeline struct {
	ctx    context.Context
	cancel context.CancelFunc
	out    chan [][]any
	errc   chan error

	cur  [][]any
	i    int
	row  []any
	err  error
	rows *atomic.Int64
}

// startPipeline starts reading rd and converting with conv on workers goroutines;
// conv fills a row of ncols nil values.
func startPipeline(ctx context.Context, rd reader, conv func(record, []any) []any, ncols, workers int, rows *atomic.Int64) *pipeline {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &pipeline{ctx: ctx, cancel: cancel, out: make(chan [][]any, workers*2), errc: make(chan error, 1), rows: rows}
	in := make(chan []record, workers*2)
	go func() {
		defer close(in)
		batch := make([]record, 0, batchSize)
		for {
			rec, err := rd.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				p.errc <- err
				cancel()
				return
			}
			batch = append(batch, rec)
			if len(batch) == batchSize {
				select {
				case in <- batch:
				case <-ctx.Done():
					return
				}
				batch = make([]record, 0, batchSize)
			}
		}
		if len(batch) > 0 {
			select {
			case in <- batch:
			case <-ctx.Done():
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range in {
				// One allocation for the batch's rows, not one per row.
				cells := make([]any, len(batch)*ncols)
				rows := make([][]any, len(batch))
				for i, rec := range batch {
					rows[i] = conv(rec, cells[i*ncols:(i+1)*ncols:(i+1)*ncols])
				}
				select {
				case p.out <- rows:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(p.out) }()
	return p
}

// Next, Values and Err make the pipeline a pgx.CopyFromSource.
func (p *pipeline) Next() bool {
	for p.i >= len(p.cur) {
		select {
		case b, ok := <-p.out:
			if !ok {
				select {
				case p.err = <-p.errc:
				default:
					p.err = p.ctx.Err()
				}
				return false
			}
			p.cur, p.i = b, 0
		case <-p.ctx.Done():
			select {
			case p.err = <-p.errc:
			default:
				p.err = p.ctx.Err()
			}
			return false
		}
	}
	p.row = p.cur[p.i]
	p.i++
	p.rows.Add(1)
	return true
}

func (p *pipeline) Values() ([]any, error) { return p.row, nil }
func (p *pipeline) Err() error             { return p.err }

// stop ends the goroutines.
func (p *pipeline) stop() { p.cancel() }

// copyRows streams src into the staging table.
func copyRows(ctx context.Context, tx pgx.Tx, table string, cols []stageCol, src pgx.CopyFromSource) (int64, error) {
	n, err := tx.CopyFrom(ctx, pgx.Identifier{table}, colNames(cols), src)
	if err != nil {
		return n, fmt.Errorf("copy into staging table: %w", err)
	}
	return n, nil
}
