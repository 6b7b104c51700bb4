package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
)

// sweepBatch is how many rows one sweep transaction changes: small enough that each transaction
// holds its row locks for milliseconds, large enough that 200,000 rows take a few hundred
// transactions.
const sweepBatch = 1000

// forEachOrganization runs sweep for every organization as that organization's system actor and
// adds up what it changed. A failing organization does not stop the others; their errors are
// returned together.
func (s *Service) forEachOrganization(ctx context.Context, name string, sweep func(context.Context, *crm.Actor) (int, error)) (int, error) {
	var ids []crm.ID
	if err := db.AsSystem(ctx, s.pool, func(tx pgx.Tx) (err error) {
		ids, err = query.New(tx).ListOrganizationIDs(ctx)
		return err
	}); err != nil {
		return 0, err
	}
	total := 0
	var errs []error
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := sweep(ctx, crm.SystemActor(id))
		total += n
		if err != nil {
			errs = append(errs, fmt.Errorf("%s in organization %s: %w", name, id, err))
		}
	}
	return total, errors.Join(errs...)
}
