package api

import (
	"testing"

	"github.com/onegrid/onegrid/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
