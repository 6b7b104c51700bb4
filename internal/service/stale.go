package service

import (
	"bytes"
	"context"
	"time"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/stale"
)

// Notification kinds of the stale-deal sweep.
const (
	KindDealStale     = "deal_stale"      // to the deal's owner
	KindDealStaleTeam = "deal_stale_team" // to the owner's manager
)

// SweepStaleDeals flags the open deals of every organization that nothing happened on for their
// stage's stale period (stale.Days), and notifies each deal's owner and the owner's manager once
// per stale period. It returns how many deals it flagged. A periodic job runs it; running it twice
// is harmless, and it never waits on a deal another transaction is changing (that deal is left for
// the next run).
func (s *Service) SweepStaleDeals(ctx context.Context) (int, error) {
	return s.forEachOrganization(ctx, "stale-deal sweep", s.sweepStaleDeals)
}

func (s *Service) sweepStaleDeals(ctx context.Context, a *crm.Actor) (int, error) {
	now := s.now()
	var (
		org      query.Organization
		stages   []query.ListStageStaleSettingsRow
		managers []query.UserManagersRow
	)
	err := s.read(ctx, a, func(q *query.Queries) (err error) {
		if org, err = q.GetOrganization(ctx, a.OrgID); err != nil {
			return err
		}
		stages, err = q.ListStageStaleSettings(ctx, a.OrgID)
		return err
	})
	if err != nil {
		return 0, err
	}
	rs := make([]stale.Stage, len(stages))
	for i, st := range stages {
		rs[i] = stale.Stage{ID: st.ID, StaleAfterDays: st.StaleAfterDays, Closed: st.Closed}
	}
	stageIDs, cutoffs, latest := stale.Cutoffs(now, org.StaleAfterDays, rs)
	if len(stageIDs) == 0 {
		return 0, nil
	}
	if err := s.read(ctx, a, func(q *query.Queries) (err error) {
		managers, err = q.UserManagers(ctx, a.OrgID)
		return err
	}); err != nil {
		return 0, err
	}
	managerOf := make(map[crm.ID]crm.ID, len(managers))
	for _, m := range managers {
		managerOf[m.UserID] = m.ManagerID
	}
	loc, err := time.LoadLocation(org.TimeZone)
	if err != nil {
		loc = time.UTC
	}

	// A keyset cursor over (last touch, id) walks the open deals once: flagged deals stay in the
	// index the batches read, and skipped (locked) ones are left behind for the next run.
	afterTouch, afterID := time.Time{}, crm.NilID
	total := 0
	for {
		var n int
		err := s.write(ctx, a, func(w *writer) error {
			rows, err := w.q.FlagStaleOpportunities(w.ctx, query.FlagStaleOpportunitiesParams{
				Now: w.now, OrgID: a.OrgID, StageIds: stageIDs, Cutoffs: cutoffs, LatestCutoff: latest,
				AfterTouch: afterTouch, AfterID: afterID, BatchSize: sweepBatch,
			})
			if err != nil {
				return err
			}
			n = len(rows)
			notes := make([]crm.Notification, 0, 2*n)
			keys := make([]string, 0, 2*n)
			for _, r := range rows {
				if r.Touch.After(afterTouch) || (r.Touch.Equal(afterTouch) && bytes.Compare(r.ID[:], afterID[:]) > 0) {
					afterTouch, afterID = r.Touch, r.ID
				}
				owner := idOf(r.OwnerID)
				w.emit("opportunity.stale", crm.TypeOpportunity, r.ID,
					[]crm.FieldChange{{Field: "staleSince", Before: mustJSON(nil), After: mustJSON(w.now)}}, owner)
				w.events[len(w.events)-1].ContainerID = r.PipelineID
				key := "stale:" + r.ID.String() + ":" + w.now.Format(time.RFC3339Nano)
				since := r.Touch.In(loc).Format("2 January 2006")
				if owner != crm.NilID {
					notes = append(notes, crm.Notification{UserID: owner, Kind: KindDealStale,
						Title:      "Deal going stale: " + r.Name,
						Body:       "Nothing has happened on this deal since " + since + ". Log an activity or move it on.",
						RecordType: crm.TypeOpportunity, RecordID: r.ID})
					keys = append(keys, key)
				}
				if m := managerOf[owner]; m != crm.NilID {
					notes = append(notes, crm.Notification{UserID: m, Kind: KindDealStaleTeam,
						Title:      "Stale deal in your team: " + r.Name,
						Body:       "Nothing has happened on this deal since " + since + ".",
						RecordType: crm.TypeOpportunity, RecordID: r.ID})
					keys = append(keys, key)
				}
			}
			_, err = w.notifyAll(notes, keys)
			return err
		})
		total += n
		if err != nil || n < sweepBatch {
			return total, err
		}
	}
}
