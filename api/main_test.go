package api

import (
	"log/slog"
	"testing"

	"github.com/onegrid/onegrid/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
