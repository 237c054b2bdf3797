package schema

import "context"

// ApplyForTest applies one migration the way Migrate does.
func ApplyForTest(ctx context.Context, db Conn, m Migration) error {
	_, err := apply(ctx, db, m)
	return err
}
