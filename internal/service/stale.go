package service

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
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
		org    query.Organization
		stages []query.ListStageStaleSettingsRow
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
	users, err := s.ListUsers(ctx, a)
	if err != nil {
		return 0, err
	}
	teams, err := s.ListTeams(ctx, a)
	if err != nil {
		return 0, err
	}
	managerOf := access.ManagerOf(users, teams)
	loc := orgFromRow(org).Settings.Location()

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
			var notices staleNotices
			for _, r := range rows {
				if r.Touch.After(afterTouch) || (r.Touch.Equal(afterTouch) && bytes.Compare(r.ID[:], afterID[:]) > 0) {
					afterTouch, afterID = r.Touch, r.ID
				}
				owner := idOf(r.OwnerID)
				w.emit("opportunity.stale", crm.TypeOpportunity, r.ID,
					[]crm.FieldChange{{Field: "staleSince", Before: mustJSON(nil), After: mustJSON(w.now)}}, owner)
				w.events[len(w.events)-1].ContainerID = r.PipelineID
				d := staleDeal{id: r.ID, name: r.Name, since: r.Touch.In(loc).Format("2 January 2006")}
				notices.add(owner, KindDealStale, d)
				notices.add(managerOf[owner], KindDealStaleTeam, d)
			}
			notes, keys := notices.notifications(w.now)
			_, err = w.notifyAll(notes, keys)
			return err
		})
		total += n
		if err != nil || n < sweepBatch {
			return total, err
		}
	}
}

// staleDigestAfter is how many deals going stale in one sweep batch a user is told about one by
// one; beyond it they get one digest for the batch instead. A sweep that flags a backlog at once
// (the first run after the feature is turned on, a long outage) would otherwise bury an inbox in
// thousands of notifications and spend most of its time writing them.
const staleDigestAfter = 5

type staleDeal struct {
	id          crm.ID
	name, since string
}

// staleNotices groups the deals of one batch by the user to notify and why.
type staleNotices struct {
	order []staleRecipient
	deals map[staleRecipient][]staleDeal
}

type staleRecipient struct {
	user crm.ID
	kind string
}

func (sn *staleNotices) add(user crm.ID, kind string, d staleDeal) {
	if user == crm.NilID {
		return
	}
	if sn.deals == nil {
		sn.deals = map[staleRecipient][]staleDeal{}
	}
	r := staleRecipient{user, kind}
	if _, ok := sn.deals[r]; !ok {
		sn.order = append(sn.order, r)
	}
	sn.deals[r] = append(sn.deals[r], d)
}

// notifications returns the batch's notifications with their dedup keys: one per deal, keyed by
// deal and stale period so each period notifies once, or one digest per user past
// staleDigestAfter deals, keyed by its first deal.
func (sn *staleNotices) notifications(staleSince time.Time) ([]crm.Notification, []string) {
	var notes []crm.Notification
	var keys []string
	period := staleSince.Format(time.RFC3339Nano)
	for _, r := range sn.order {
		deals := sn.deals[r]
		if len(deals) > staleDigestAfter {
			names := make([]string, 0, 3)
			for _, d := range deals[:3] {
				names = append(names, d.name)
			}
			title := strconv.Itoa(len(deals)) + " of your deals are going stale"
			if r.kind == KindDealStaleTeam {
				title = strconv.Itoa(len(deals)) + " deals in your team went stale"
			}
			notes = append(notes, crm.Notification{UserID: r.user, Kind: r.kind, Title: title,
				Body: "Nothing happened on " + strings.Join(names, ", ") + " and " + strconv.Itoa(len(deals)-3) +
					" more deals for their stage's stale period. List the stale opportunities to follow them up."})
			keys = append(keys, "stale-digest:"+deals[0].id.String()+":"+period)
			continue
		}
		for _, d := range deals {
			n := crm.Notification{UserID: r.user, Kind: r.kind, RecordType: crm.TypeOpportunity, RecordID: d.id,
				Title: "Deal going stale: " + d.name,
				Body:  "Nothing has happened on this deal since " + d.since + ". Log an activity or move it on."}
			if r.kind == KindDealStaleTeam {
				n.Title = "Stale deal in your team: " + d.name
				n.Body = "Nothing has happened on this deal since " + d.since + "."
			}
			notes = append(notes, n)
			keys = append(keys, "stale:"+d.id.String()+":"+period)
		}
	}
	return notes, keys
}
