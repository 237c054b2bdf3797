package citygen

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/seal"
)

// Dataset is the dataset name on every generated row.
const Dataset = "citygen"

// China Standard Time: periods and timestamps are local, as the screens show them
// (the database uses Asia/Shanghai, the same offset since 1991).
var cst = clock.China

// MinHouseholds and MaxHouseholds bound Options.Households: below the minimum the
// first district's streets cannot each hold a micro-grid of 50 households.
const (
	MinHouseholds = 1_000
	MaxHouseholds = 20_000_000
)

// Options say what city to build. The zero value of a field means its default.
type Options struct {
	Households         int         // households to place, MinHouseholds..MaxHouseholds
	Seed               uint64      // PCG seed: same seed, same city
	Months             int         // length of the event period (default 12)
	End                time.Time   // end of the event period, exclusive (default: Now's reading)
	Now                clock.Clock // read for End when End is zero
	EventsPerHousehold float64     // background events per household per year (default 1)
	Hotspots           int         // planted event clusters (default 0)
	TruthPath          string      // where to write the hotspots' ground truth as JSON ("" = nowhere)
	Replace            bool        // delete earlier citygen rows instead of refusing
	HashKey            []byte      // HMAC-SHA-256 key for phone and ID numbers (default: a fixed demo key)
	DataKey            *seal.Key   // seals synthetic clear personal values (personal.go); nil writes none
	Log                *slog.Logger
}

// ErrExists is returned when the database already holds citygen rows and
// Options.Replace is not set.
var ErrExists = errors.New("the database already holds a generated city (dataset citygen): use --replace to regenerate it")

// demoHashKey keys the hashes of synthetic personal data. Real deployments keep
// their key out of the code; for a synthetic city a fixed key keeps runs equal.
var demoHashKey = []byte("onegrid citygen synthetic data key")

func (o *Options) defaults() error {
	if o.Households < MinHouseholds || o.Households > MaxHouseholds {
		return fmt.Errorf("households %d: must be %d..%d", o.Households, MinHouseholds, MaxHouseholds)
	}
	if o.Months == 0 {
		o.Months = 12
	}
	if o.Months < 1 || o.Months > 120 {
		return fmt.Errorf("months %d: must be 1..120", o.Months)
	}
	if o.End.IsZero() {
		// No default reads the machine's clock behind the caller's back: a run is
		// reproducible when End is given, and follows the clock it is given else.
		if o.Now == nil {
			return errors.New("no end of the event period: set End or Now")
		}
		o.End = o.Now()
	}
	// The city's calendar: periods, months and hotspot starts are in China time.
	o.End = o.End.In(cst).Truncate(time.Second)
	if o.EventsPerHousehold == 0 {
		o.EventsPerHousehold = 1
	}
	if o.EventsPerHousehold < 0 || o.EventsPerHousehold > 100 {
		return fmt.Errorf("events per household %g: must be 0..100", o.EventsPerHousehold)
	}
	if o.Hotspots < 0 || o.Hotspots > 1000 {
		return fmt.Errorf("hotspots %d: must be 0..1000", o.Hotspots)
	}
	if len(o.HashKey) == 0 {
		o.HashKey = demoHashKey
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Start is the start of the event period, which is also the grids' valid_from.
func (o Options) Start() time.Time { return o.End.AddDate(0, -o.Months, 0) }

// Summary reports what Generate wrote.
type Summary struct {
	Rows       map[string]int64 // table → rows written
	Districts  []string         // names of the districts built
	Households int64
	People     int64
	Hotspots   []Hotspot
	Phases     []Phase // wall time per phase, in order
	Seconds    float64 // total wall time
	// DerivedSide says the roll-ups were computed on a second connection while
	// indexes were built (side.go); false when the pool had none to spare.
	DerivedSide bool
}

// Phase is one timed step of a run. CPU times separate the two processes that
// share the machine's cores, which wall time on a busy machine does not: CPU is
// this process's (all goroutines), ServerCPU the database backend's, read from
// /proc when the server runs on this machine and we may read it (else -1).
type Phase struct {
	Name      string
	Seconds   float64
	CPU       float64
	ServerCPU float64
}
