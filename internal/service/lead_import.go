package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/leadimport"
	"github.com/rapportcrm/rapport/internal/rules/access"
	"github.com/rapportcrm/rapport/internal/rules/leadcsv"
	"github.com/rapportcrm/rapport/internal/rules/normalize"
	"github.com/rapportcrm/rapport/worker/jobargs"
)

// Limits of CSV imports.
const (
	// ImportChunkBytes is the size of the pieces an upload is stored in: the upload holds one in
	// memory, and the job reads one at a time.
	ImportChunkBytes = 1 << 20
	// MaxImportBytes is the largest file an upload accepts.
	MaxImportBytes = 200 << 20
	// ImportBatchRows is how many rows the job captures per transaction; a crash resumes after
	// the last committed batch.
	ImportBatchRows = 500
	// headSample is how much of the start of a file the header is read from.
	headSample = 64 << 10
)

// Events of an import, all with the import as snapshot.
const (
	EventImportUploaded  = "lead_import.uploaded"
	EventImportQueued    = "lead_import.queued"
	EventImportProgress  = "lead_import.progress"
	EventImportCancelled = "lead_import.cancelled"
)

// LeadImportUpload describes an uploaded file.
type LeadImportUpload struct {
	FileName string
	Source   string // a lead source; empty: import
	Campaign string
}

// ErrImportTooLarge is returned (wrapped in a crm.Error on field "file") for a file larger than
// MaxImportBytes.
var ErrImportTooLarge = crm.Invalid("file", "The file is larger than %d MiB: split it into smaller files.", MaxImportBytes>>20).
	With("maxBytes", MaxImportBytes)

// TooLarge reports whether err is the answer to an oversized upload.
func TooLarge(err error) bool {
	var e *crm.Error
	var mb *http.MaxBytesError
	return errors.As(err, &mb) || (errors.As(err, &e) && e.Details["maxBytes"] != nil)
}

// UploadLeadImport stores a CSV file of leads streamed from body, in chunks of ImportChunkBytes,
// without holding it in memory, and reads what it can before any row is imported: its encoding
// (UTF-8 with or without byte-order mark, UTF-16 with one, or Chinese GB18030/GBK, decided over
// every byte), its delimiter and header row. A file in any other encoding, without a header, or
// larger than MaxImportBytes is refused and nothing is stored. The import waits, status uploaded,
// for StartLeadImport. Only users import (leads:write): the job captures the rows as them.
func (s *Service) UploadLeadImport(ctx context.Context, a *crm.Actor, in LeadImportUpload, body io.Reader) (imp crm.LeadImport, err error) {
	if err := authorize(a, access.LeadsWrite); err != nil {
		return imp, err
	}
	if a.Kind != crm.ActorUser {
		return imp, crm.Errorf(crm.EFORBIDDEN, "Only users import leads: the import runs as the user who uploaded the file.")
	}
	name, err := textField("fileName", in.FileName, 255)
	if err != nil {
		return imp, err
	}
	if name == "" {
		name = "leads.csv"
	}
	source, err := importSource(in.Source)
	if err != nil {
		return imp, err
	}
	campaign, err := textField("campaign", in.Campaign, 200)
	if err != nil {
		return imp, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		imp = crm.LeadImport{ID: crm.NewID(), OrgID: a.OrgID, FileName: name, Source: source, Campaign: campaign,
			Status: crm.ImportUploaded, CreatedBy: a.UserID, CreatedAt: w.now, UpdatedAt: w.now, Delimiter: ","}
		if err := w.q.CreateLeadImport(w.ctx, query.CreateLeadImportParams{OrgID: a.OrgID, ID: imp.ID, FileName: name,
			Encoding: "", Delimiter: ",", Headers: []string{}, Source: string(source), Campaign: campaign,
			CreatedBy: a.UserID, Now: w.now}); err != nil {
			return err
		}
		var (
			sniff leadcsv.Sniffer
			head  []byte
			lines int64
			tail  []byte // the last two bytes
			buf   = make([]byte, ImportChunkBytes)
		)
		for seq := int32(0); ; seq++ {
			n, rerr := io.ReadFull(body, buf)
			if n > 0 {
				if imp.SizeBytes += int64(n); imp.SizeBytes > MaxImportBytes {
					return ErrImportTooLarge
				}
				_, _ = sniff.Write(buf[:n])
				if head == nil {
					head = bytes.Clone(buf[:min(n, headSample)])
				}
				lines += lineBreaks(buf[:n], head)
				tail = append(tail, buf[max(n-2, 0):n]...)
				tail = tail[max(len(tail)-2, 0):]
				if err := w.q.InsertLeadImportChunk(w.ctx, query.InsertLeadImportChunkParams{OrgID: a.OrgID,
					ImportID: imp.ID, Seq: seq, Data: buf[:n]}); err != nil {
					return err
				}
				imp.ChunkCount = seq + 1
			}
			if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
				break
			} else if rerr != nil {
				if TooLarge(rerr) {
					return ErrImportTooLarge
				}
				return crm.Invalid("file", "The upload broke off after %d bytes (%v); upload the file again.", imp.SizeBytes, rerr)
			}
		}
		enc, err := sniff.Encoding()
		if err != nil {
			return err
		}
		h, err := leadimport.ReadHeader(head, enc)
		if err != nil {
			return err
		}
		if len(tail) > 0 && tail[len(tail)-1] != '\n' && lineBreaks(tail, head) == 0 {
			lines++ // a last line without a line break
		}
		imp.Encoding, imp.Headers, imp.Delimiter = string(enc), h.Columns, string(h.Delimiter)
		imp.RowsTotal = int32(min(max(lines-1, 0), 1<<31-1))
		if err := w.q.FinishLeadImportUpload(w.ctx, query.FinishLeadImportUploadParams{OrgID: a.OrgID, ID: imp.ID,
			SizeBytes: imp.SizeBytes, Encoding: imp.Encoding, Delimiter: imp.Delimiter, Headers: imp.Headers,
			ChunkCount: imp.ChunkCount, RowsTotal: imp.RowsTotal}); err != nil {
			return err
		}
		w.importEvent(EventImportUploaded, imp)
		return nil
	})
	return imp, err
}

// SuggestLeadImportMapping proposes a mapping (header -> lead field, "" to skip) for an import's
// header row from the headers' English or Chinese names.
func SuggestLeadImportMapping(headers []string) map[string]string {
	return leadcsv.SuggestMapping(headers)
}

// LeadImportFields lists the lead fields a column can be mapped to (and custom.<key>).
func LeadImportFields() []string { return leadcsv.Fields }

// StartLeadImport queues an uploaded import with its column mapping (header -> lead field, ""
// skips a column; nil takes the suggestion from the headers' names) and, when given, the source and
// campaign of its leads. A mapping that names unknown columns or fields, feeds a field twice, or
// leaves no name, e-mail or phone column is refused before any row is read. The import job is
// enqueued in the same transaction.
func (s *Service) StartLeadImport(ctx context.Context, a *crm.Actor, id crm.ID, mapping map[string]string, source *crm.LeadSource, campaign *string) (imp crm.LeadImport, err error) {
	if err := authorize(a, access.LeadsWrite); err != nil {
		return imp, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		if imp, err = w.lockImport(id); err != nil {
			return err
		}
		if imp.Status != crm.ImportUploaded {
			return crm.Errorf(crm.ECONFLICT, "The import is %s already; upload the file again to import it once more.", imp.Status)
		}
		cols, err := leadcsv.NewColumns(imp.Headers, mapping)
		if err != nil {
			return err
		}
		imp.Mapping = map[string]string{}
		for i, t := range cols.Targets {
			if t != leadcsv.Ignore {
				imp.Mapping[cols.Headers[i]] = t
			}
		}
		if source != nil {
			if imp.Source, err = importSource(string(*source)); err != nil {
				return err
			}
		}
		if campaign != nil {
			if imp.Campaign, err = textField("campaign", *campaign, 200); err != nil {
				return err
			}
		}
		imp.Status = crm.ImportQueued
		if err := w.saveImport(&imp); err != nil {
			return err
		}
		if _, err := w.jobs.InsertTx(w.ctx, w.tx, jobargs.LeadImport{OrgID: imp.OrgID, ImportID: imp.ID}, nil); err != nil {
			return err
		}
		w.importEvent(EventImportQueued, imp)
		return nil
	})
	return imp, err
}

// CancelLeadImport stops an import that has not ended: the job stops before its next batch (the
// batches already committed stay imported) and the stored file is dropped. An ended import is a
// CONFLICT.
func (s *Service) CancelLeadImport(ctx context.Context, a *crm.Actor, id crm.ID) (imp crm.LeadImport, err error) {
	if err := authorize(a, access.LeadsWrite); err != nil {
		return imp, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		if imp, err = w.lockImport(id); err != nil {
			return err
		}
		if imp.Status.Final() {
			return crm.Errorf(crm.ECONFLICT, "The import is %s already; only an import that has not ended can be cancelled.", imp.Status)
		}
		imp.Status, imp.FinishedAt = crm.ImportCancelled, &w.now
		if err := w.saveImport(&imp); err != nil {
			return err
		}
		if err := w.q.DeleteLeadImportChunks(w.ctx, query.DeleteLeadImportChunksParams{OrgID: imp.OrgID, ImportID: imp.ID}); err != nil {
			return err
		}
		w.importEvent(EventImportCancelled, imp)
		return nil
	})
	return imp, err
}

// importOwner returns the user whose imports alone the actor sees, or nil when the actor sees all
// of the organization's (administrators, support agents and API keys, as for records).
func importOwner(a *crm.Actor) *crm.ID {
	if access.Scope(a) == access.ScopeAll {
		return nil
	}
	return &a.UserID
}

// LeadImports returns the imports with the given IDs that the actor sees, in the order of ids;
// others are zero LeadImports.
func (s *Service) LeadImports(ctx context.Context, a *crm.Actor, ids []crm.ID) ([]crm.LeadImport, error) {
	if err := authorize(a, access.LeadsRead); err != nil {
		return nil, err
	}
	var rows []query.LeadImport
	err := s.read(ctx, a, func(q *query.Queries) (err error) {
		rows, err = q.GetLeadImports(ctx, query.GetLeadImportsParams{OrgID: a.OrgID, Ids: ids, CreatedBy: importOwner(a)})
		return err
	})
	out := make([]crm.LeadImport, len(rows))
	for i, r := range rows {
		out[i] = leadImportFromRow(r)
	}
	return inOrder(out, ids, func(i crm.LeadImport) crm.ID { return i.ID }), err
}

// LeadImport returns one import the actor sees, or NOT_FOUND.
func (s *Service) LeadImport(ctx context.Context, a *crm.Actor, id crm.ID) (crm.LeadImport, error) {
	list, err := s.LeadImports(ctx, a, []crm.ID{id})
	if err != nil {
		return crm.LeadImport{}, err
	}
	if list[0].ID == crm.NilID {
		return crm.LeadImport{}, crm.NotFound("lead import", id)
	}
	return list[0], nil
}

const importOrder = "IMPORTS"

// LeadImportCursor returns the position of an import in the list of imports.
func LeadImportCursor(i crm.LeadImport) string {
	return encodeCursor(importOrder, i.CreatedAt.UTC().Format("2006-01-02T15:04:05.999999999Z07:00"), i.ID)
}

// ListLeadImports returns a page of the imports the actor sees, newest first.
func (s *Service) ListLeadImports(ctx context.Context, a *crm.Actor, first int, after string) ([]crm.LeadImport, PageInfo, error) {
	if err := authorize(a, access.LeadsRead); err != nil {
		return nil, PageInfo{}, err
	}
	if err := checkFirst(first); err != nil {
		return nil, PageInfo{}, err
	}
	p := query.ListLeadImportsParams{OrgID: a.OrgID, CreatedBy: importOwner(a), MaxRows: int32(first + 1)}
	var err error
	if p.AfterAt, p.AfterID, err = timeCursor(after, importOrder); err != nil {
		return nil, PageInfo{}, err
	}
	var rows []query.LeadImport
	if err := s.read(ctx, a, func(q *query.Queries) (err error) {
		rows, err = q.ListLeadImports(ctx, p)
		return err
	}); err != nil {
		return nil, PageInfo{}, err
	}
	out := make([]crm.LeadImport, len(rows))
	for i, r := range rows {
		out[i] = leadImportFromRow(r)
	}
	out, info := finishPage(out, first, false, Page{After: after}, LeadImportCursor)
	return out, info, nil
}

const importErrorOrder = "IMPORT_ERRORS"

// ImportErrorCursor returns the position of a problem in its import's report.
func ImportErrorCursor(importID crm.ID, e crm.ImportError) string {
	return encodeCursor(importErrorOrder, strconv.Itoa(int(e.Line))+":"+e.Field, importID)
}

// LeadImportErrors returns a page of an import's problems (line, field, reason) in file order,
// and their total when total is set.
func (s *Service) LeadImportErrors(ctx context.Context, a *crm.Actor, id crm.ID, first int, after string, total bool) (errs []crm.ImportError, info PageInfo, count int, err error) {
	if _, err := s.LeadImport(ctx, a, id); err != nil {
		return nil, info, 0, err
	}
	if err := checkFirst(first); err != nil {
		return nil, info, 0, err
	}
	p := query.ListLeadImportErrorsParams{OrgID: a.OrgID, ImportID: id, MaxRows: int32(first + 1)}
	if after != "" {
		c, err := decodeCursor("after", after, importErrorOrder)
		if err != nil {
			return nil, info, 0, err
		}
		lineText, field, _ := strings.Cut(c.Value, ":")
		line, lerr := strconv.Atoi(lineText)
		if c.ID != id || lerr != nil {
			return nil, info, 0, crm.Invalid("after", "The cursor belongs to another import's report; pass one from this report.")
		}
		l := int32(line)
		p.AfterLine, p.AfterField = &l, &field
	}
	var rows []query.ListLeadImportErrorsRow
	err = s.read(ctx, a, func(q *query.Queries) (err error) {
		if rows, err = q.ListLeadImportErrors(ctx, p); err != nil || !total {
			return err
		}
		c, err := q.CountLeadImportErrors(ctx, query.CountLeadImportErrorsParams{OrgID: a.OrgID, ImportID: id})
		count = int(c)
		return err
	})
	if err != nil {
		return nil, info, 0, err
	}
	errs = make([]crm.ImportError, len(rows))
	for i, r := range rows {
		errs[i] = crm.ImportError{Line: r.Line, Field: r.Field, Reason: r.Reason}
	}
	errs, info = finishPage(errs, first, false, Page{After: after}, func(e crm.ImportError) string { return ImportErrorCursor(id, e) })
	return errs, info, count, nil
}

// ImportProgress is an import as one of its events left it, delivered live.
type ImportProgress struct {
	Seq    int64
	Type   string
	Import crm.LeadImport
}

// SubscribeLeadImport streams the progress of an import the actor sees: a snapshot after every
// batch, and when it is queued, cancelled or ends. The stream ends when ctx ends.
func (s *Service) SubscribeLeadImport(ctx context.Context, a *crm.Actor, id crm.ID, after *string) (<-chan ImportProgress, error) {
	if _, err := s.LeadImport(ctx, a, id); err != nil {
		return nil, err
	}
	in, err := s.subscribe(ctx, a, after, func(e crm.Event) bool {
		return e.RecordType == crm.TypeLeadImport && e.RecordID == id && len(e.Snapshot) > 0
	})
	if err != nil {
		return nil, err
	}
	out := make(chan ImportProgress)
	go func() {
		defer close(out)
		for e := range in {
			p := ImportProgress{Seq: e.Seq, Type: e.Type}
			if json.Unmarshal(e.Snapshot, &p.Import) != nil {
				continue
			}
			select {
			case out <- p:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// lockImport locks an import the writer's actor sees.
func (w *writer) lockImport(id crm.ID) (crm.LeadImport, error) {
	row, err := w.q.LockLeadImport(w.ctx, query.LockLeadImportParams{OrgID: w.actor.OrgID, ID: id})
	if err != nil {
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			return crm.LeadImport{}, crm.NotFound("lead import", id)
		}
		return crm.LeadImport{}, err
	}
	imp := leadImportFromRow(row)
	if owner := importOwner(w.actor); w.actor.Kind != crm.ActorSystem && owner != nil && *owner != imp.CreatedBy {
		return crm.LeadImport{}, crm.NotFound("lead import", id)
	}
	return imp, nil
}

// saveImport writes a locked import back.
func (w *writer) saveImport(imp *crm.LeadImport) error {
	imp.UpdatedAt = w.now
	mapping, err := json.Marshal(imp.Mapping)
	if err != nil {
		return err
	}
	if imp.Mapping == nil {
		mapping = []byte("{}")
	}
	return w.q.UpdateLeadImport(w.ctx, query.UpdateLeadImportParams{OrgID: imp.OrgID, ID: imp.ID, Mapping: mapping,
		Source: string(imp.Source), Campaign: imp.Campaign, Status: string(imp.Status), Error: imp.Error,
		RowsTotal: imp.RowsTotal, RowsDone: imp.RowsDone, RowsImported: imp.RowsImported, RowsMerged: imp.RowsMerged,
		RowsFailed: imp.RowsFailed, ResumeLine: imp.ResumeLine, StartedAt: imp.StartedAt, FinishedAt: imp.FinishedAt,
		UpdatedAt: imp.UpdatedAt})
}

// importEvent emits an import event seen by its creator (and whoever sees all imports), with the
// import as snapshot so that progress reaches subscribers without a read.
func (w *writer) importEvent(typ string, imp crm.LeadImport) {
	w.emit(typ, crm.TypeLeadImport, imp.ID, nil, imp.CreatedBy)
	w.events[len(w.events)-1].Snapshot = mustJSON(imp)
}

func leadImportFromRow(r query.LeadImport) crm.LeadImport {
	imp := crm.LeadImport{ID: r.ID, OrgID: r.OrgID, FileName: r.FileName, SizeBytes: r.SizeBytes, Encoding: r.Encoding,
		Delimiter: r.Delimiter, Headers: r.Headers, Source: crm.LeadSource(r.Source), Campaign: r.Campaign,
		Status: crm.ImportStatus(r.Status), Error: r.Error, RowsTotal: r.RowsTotal, RowsDone: r.RowsDone,
		RowsImported: r.RowsImported, RowsMerged: r.RowsMerged, RowsFailed: r.RowsFailed, ResumeLine: r.ResumeLine, ChunkCount: r.ChunkCount,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
		UpdatedAt: r.UpdatedAt}
	_ = json.Unmarshal(r.Mapping, &imp.Mapping)
	if imp.Mapping == nil {
		imp.Mapping = map[string]string{}
	}
	if imp.Headers == nil {
		imp.Headers = []string{}
	}
	return imp
}

// importSource reads the source of an import's leads; empty means import.
func importSource(s string) (crm.LeadSource, error) {
	if strings.TrimSpace(s) == "" {
		return crm.SourceImport, nil
	}
	return leadcsv.Source("source", s)
}

func textField(field, s string, max int) (string, error) {
	return normalize.Text(field, s, max)
}

// lineBreaks counts the line breaks in a piece of a file whose first bytes are head: in UTF-16 (by
// its byte-order mark) the code unit U+000A at even offsets (pieces are of even size), elsewhere
// the byte 0x0A, which no multi-byte character of UTF-8 or GB18030 contains.
func lineBreaks(p, head []byte) int64 {
	unit := -1 // the offset of 0x0A within a UTF-16 code unit
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		unit = 0
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		unit = 1
	}
	if unit < 0 {
		return int64(bytes.Count(p, []byte{'\n'}))
	}
	var n int64
	for i := 0; i+1 < len(p); i += 2 {
		if p[i+unit] == '\n' && p[i+1-unit] == 0 {
			n++
		}
	}
	return n
}
