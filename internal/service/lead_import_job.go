package service

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/leadimport"
	"github.com/rapportcrm/rapport/internal/rules/access"
	"github.com/rapportcrm/rapport/internal/rules/leadcsv"
)

// RunLeadImport runs a queued import (the lead.import job): it streams the stored file chunk by
// chunk through the decoder and the CSV reader, and captures its rows in batches of
// ImportBatchRows, each in its own transaction together with the import's progress, the batch's
// problems and a progress event, as the user who uploaded the file. Rows up to the import's resume
// line were committed by an earlier run and are skipped, so a crashed or retried job goes on where
// it stopped and nothing is imported twice or half. It stops before the next batch once the import
// is cancelled. A file that cannot be read fails the import with the reason; other errors
// (conflicts with concurrent captures, outages) are returned for the job to retry.
func (s *Service) RunLeadImport(ctx context.Context, orgID, id crm.ID) error {
	imp, a, region, err := s.claimImport(ctx, orgID, id)
	if err != nil || imp.Status != crm.ImportRunning {
		return err
	}
	err = s.importRows(ctx, a, imp, region)
	switch crm.ErrorCode(err) {
	case crm.EINVALID, crm.ENOTFOUND, crm.EFORBIDDEN: // the file, its mapping or its uploader: retrying changes nothing
		return s.FailLeadImport(ctx, orgID, id, crm.ErrorMessage(err))
	}
	return err // conflicts and outages: the job retries from the last committed batch
}

// FailLeadImport ends an import that has not ended with status failed and the reason (the job
// calls it when the file cannot be read, and when its last attempt failed).
func (s *Service) FailLeadImport(ctx context.Context, orgID, id crm.ID, reason string) error {
	return s.write(ctx, crm.SystemActor(orgID), func(w *writer) error {
		imp, err := w.lockImport(id)
		if err != nil || imp.Status.Final() {
			return ignoreNotFound(err)
		}
		imp.Status, imp.Error, imp.FinishedAt = crm.ImportFailed, reason, &w.now
		if err := w.saveImport(&imp); err != nil {
			return err
		}
		w.importEvent(EventImportProgress, imp)
		return w.q.DeleteLeadImportChunks(w.ctx, query.DeleteLeadImportChunksParams{OrgID: imp.OrgID, ImportID: imp.ID})
	})
}

func ignoreNotFound(err error) error {
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return nil
	}
	return err
}

// claimImport marks a queued import running and returns it with the actor it runs as (its
// uploader, who must still be active and allowed to write leads) and the organization's phone
// region. An import that is not queued or running comes back as it is, to be left alone.
func (s *Service) claimImport(ctx context.Context, orgID, id crm.ID) (imp crm.LeadImport, a *crm.Actor, region string, err error) {
	err = s.write(ctx, crm.SystemActor(orgID), func(w *writer) error {
		if imp, err = w.lockImport(id); err != nil {
			return ignoreNotFound(err)
		}
		if imp.Status != crm.ImportQueued && imp.Status != crm.ImportRunning {
			return nil
		}
		users, err := w.q.GetUsers(w.ctx, query.GetUsersParams{OrgID: orgID, Ids: []crm.ID{imp.CreatedBy}})
		if err != nil {
			return err
		}
		if len(users) == 1 && users[0].Active {
			a = &crm.Actor{Kind: crm.ActorUser, OrgID: orgID, UserID: users[0].ID, Role: crm.Role(users[0].Role)}
		}
		settings, err := w.settings()
		if err != nil {
			return err
		}
		region = settings.DefaultPhoneRegion
		switch {
		case a == nil:
			imp.Status, imp.Error = crm.ImportFailed, "The user who uploaded the file was deactivated before the import ran."
		case !access.Allows(a, access.LeadsWrite):
			imp.Status, imp.Error = crm.ImportFailed, "The user who uploaded the file may no longer write leads."
		case imp.Status == crm.ImportQueued:
			imp.Status, imp.StartedAt = crm.ImportRunning, &w.now
		default:
			return nil // a retry: running already
		}
		if imp.Status == crm.ImportFailed {
			imp.FinishedAt = &w.now
		}
		if err := w.saveImport(&imp); err != nil {
			return err
		}
		w.importEvent(EventImportProgress, imp)
		return nil
	})
	return imp, a, region, err
}

// importRow is a row of the file that becomes a lead.
type importRow struct {
	line    int
	lead    leadcsv.Lead
	payload json.RawMessage // the row as {header: value}, kept for audit
}

// importBatch is what the job read since the last commit.
type importBatch struct {
	rows     []importRow
	problems []leadcsv.Problem
	done     int32 // rows read (blank lines are not rows)
	failed   int32 // rows that cannot become leads
	last     int   // the last line read
}

// importRows streams the file and captures its rows batch by batch.
func (s *Service) importRows(ctx context.Context, a *crm.Actor, imp crm.LeadImport, region string) error {
	cols, err := leadcsv.NewColumns(imp.Headers, imp.Mapping)
	if err != nil {
		return err
	}
	text, err := leadimport.Decode(&chunkReader{ctx: ctx, s: s, a: a, id: imp.ID, count: imp.ChunkCount},
		leadcsv.Encoding(imp.Encoding))
	if err != nil {
		return err
	}
	delim := []rune(imp.Delimiter)
	if len(delim) != 1 {
		delim = []rune{','}
	}
	rows, err := leadimport.NewRows(text, leadimport.Header{Columns: imp.Headers, Delimiter: delim[0]})
	if err != nil {
		return err
	}
	resume := int(imp.ResumeLine)
	b := importBatch{rows: make([]importRow, 0, ImportBatchRows)}
	for {
		record, line, err := rows.Next()
		var pe *csv.ParseError
		switch {
		case errors.Is(err, io.EOF):
			_, err := s.commitImportBatch(ctx, a, imp, &b, true)
			return err
		case errors.As(err, &pe):
			if line > resume {
				b.done, b.failed, b.last = b.done+1, b.failed+1, line
				b.problems = append(b.problems, leadcsv.Problem{Line: line, Reason: leadimport.ParseProblem(pe)})
			}
		case err != nil:
			return err
		case line <= resume:
		case leadcsv.Blank(record):
			b.last = line
		default:
			b.last = line
			b.done++
			l, problems, ok := cols.Parse(record, line, region)
			b.problems = append(b.problems, problems...)
			if !ok {
				b.failed++
				break
			}
			b.rows = append(b.rows, importRow{line: line, lead: l, payload: rowPayload(imp.Headers, record)})
		}
		if b.done >= ImportBatchRows {
			goOn, err := s.commitImportBatch(ctx, a, imp, &b, false)
			if err != nil || !goOn {
				return err
			}
			if s.afterImportBatch != nil {
				if err := s.afterImportBatch(imp); err != nil {
					return err
				}
			}
		}
	}
}

// commitImportBatch captures a batch and records the import's progress in one transaction, then
// empties the batch. It reports false, writing nothing, when the import was cancelled meanwhile.
// The last batch (final) also ends the import: done, with the exact row count.
func (s *Service) commitImportBatch(ctx context.Context, a *crm.Actor, imp crm.LeadImport, b *importBatch, final bool) (goOn bool, err error) {
	err = s.write(ctx, a, func(w *writer) error {
		cur, err := w.lockImport(imp.ID)
		if err != nil {
			return err
		}
		if cur.Status != crm.ImportRunning {
			return nil
		}
		goOn = true
		imported, merged, problems, failed, err := w.captureImportRows(cur, b.rows)
		if err != nil {
			return err
		}
		problems = append(b.problems, problems...)
		if len(problems) > 0 {
			p := query.InsertLeadImportErrorsParams{OrgID: cur.OrgID, ImportID: cur.ID}
			for _, x := range problems {
				p.Lines = append(p.Lines, int32(x.Line))
				p.Fields = append(p.Fields, x.Field)
				p.Reasons = append(p.Reasons, x.Reason)
			}
			if err := w.q.InsertLeadImportErrors(w.ctx, p); err != nil {
				return err
			}
		}
		cur.RowsDone += b.done
		cur.RowsFailed += b.failed + failed
		cur.RowsImported += imported
		cur.RowsMerged += merged
		if b.last > int(cur.ResumeLine) {
			cur.ResumeLine = int32(b.last)
		}
		if final {
			cur.Status, cur.FinishedAt, cur.RowsTotal = crm.ImportDone, &w.now, cur.RowsDone
			if err := w.q.DeleteLeadImportChunks(w.ctx, query.DeleteLeadImportChunksParams{OrgID: cur.OrgID, ImportID: cur.ID}); err != nil {
				return err
			}
		} else if cur.RowsDone > cur.RowsTotal {
			cur.RowsTotal = cur.RowsDone // the estimate fell short (quoted line breaks)
		}
		if err := w.saveImport(&cur); err != nil {
			return err
		}
		w.importEvent(EventImportProgress, cur)
		return nil
	})
	if err == nil {
		*b = importBatch{rows: b.rows[:0], last: b.last}
	}
	return goOn, err
}

// rowPayload is a row as a JSON object of header -> value, for the touch's audit payload.
func rowPayload(headers, record []string) json.RawMessage {
	m := make(map[string]string, len(headers))
	for i, h := range headers {
		if i < len(record) && record[i] != "" {
			m[h] = record[i]
		}
	}
	return mustJSON(m)
}

// chunkReader reads an import's stored file, one chunk at a time, in order.
type chunkReader struct {
	ctx   context.Context
	s     *Service
	a     *crm.Actor
	id    crm.ID
	next  int32
	count int32
	buf   []byte
}

// Read implements io.Reader.
func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.next >= r.count {
			return 0, io.EOF
		}
		err := r.s.read(r.ctx, r.a, func(q *query.Queries) (err error) {
			r.buf, err = q.GetLeadImportChunk(r.ctx, query.GetLeadImportChunkParams{OrgID: r.a.OrgID, ImportID: r.id, Seq: r.next})
			return err
		})
		if err != nil {
			return 0, err
		}
		r.next++
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}
