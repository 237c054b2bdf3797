package tiles_test

import (
	"context"

	"github.com/jackc/pgx/v5"
)

func pgxConnect(conn string) (*pgx.Conn, error) { return pgx.Connect(context.Background(), conn) }
