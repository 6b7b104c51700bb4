package service

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/query"
)

// ExpireIdempotencyKeys deletes idempotency keys past their expiry in every organization and
// returns how many it deleted. A periodic job runs it; running it twice is harmless.
func (s *Service) ExpireIdempotencyKeys(ctx context.Context) (int, error) {
	var n int64
	err := db.AsSystem(ctx, s.pool, func(tx pgx.Tx) (err error) {
		n, err = query.New(tx).DeleteExpiredIdempotencyKeys(ctx, s.now())
		return err
	})
	return int(n), err
}
