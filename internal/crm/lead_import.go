package crm

import "time"

// ImportStatus is where a CSV import of leads stands.
type ImportStatus string

// Import statuses: uploaded (waiting for its mapping), queued, running, and the final done, failed
// and cancelled.
const (
	ImportUploaded  ImportStatus = "uploaded"
	ImportQueued    ImportStatus = "queued"
	ImportRunning   ImportStatus = "running"
	ImportDone      ImportStatus = "done"
	ImportFailed    ImportStatus = "failed"
	ImportCancelled ImportStatus = "cancelled"
)

// Final reports whether the import has ended.
func (s ImportStatus) Final() bool {
	return s == ImportDone || s == ImportFailed || s == ImportCancelled
}

// LeadImport is a CSV file of leads uploaded by a user and imported by a background job in batches:
// the counts say how far it got, and ResumeLine is the last line of the file whose batch committed.
type LeadImport struct {
	ID        ID                `json:"id"`
	OrgID     ID                `json:"orgId"`
	FileName  string            `json:"fileName"`
	SizeBytes int64             `json:"sizeBytes"`
	Encoding  string            `json:"encoding"`  // as detected: UTF-8, UTF-16LE, UTF-16BE or GB18030
	Delimiter string            `json:"delimiter"` // ",", ";" or a tab
	Headers   []string          `json:"headers"`
	Mapping   map[string]string `json:"mapping"` // header -> lead field, as started; empty before
	Source    LeadSource        `json:"source"`
	Campaign  string            `json:"campaign"`
	Status    ImportStatus      `json:"status"`
	Error     string            `json:"error"` // why it failed
	// RowsTotal is estimated from the file's line breaks until the import is done, then exact.
	RowsTotal    int32      `json:"rowsTotal"`
	RowsDone     int32      `json:"rowsDone"`
	RowsImported int32      `json:"rowsImported"` // new leads
	RowsMerged   int32      `json:"rowsMerged"`   // touches on existing leads or contacts
	RowsFailed   int32      `json:"rowsFailed"`
	ResumeLine   int32      `json:"resumeLine"`
	CreatedBy    ID         `json:"createdBy"`
	CreatedAt    time.Time  `json:"createdAt"`
	StartedAt    *time.Time `json:"startedAt"`
	FinishedAt   *time.Time `json:"finishedAt"`
	UpdatedAt    time.Time  `json:"updatedAt"`
	ChunkCount   int32      `json:"-"` // pieces the file is stored in
}

// GlobalID returns the import's global ID.
func (i LeadImport) GlobalID() string { return GlobalID(TypeLeadImport, i.ID) }

// ImportError is one reason why (part of) a row of an import was not imported.
type ImportError struct {
	Line   int32  // line of the file, the header being line 1
	Field  string // lead field at fault; empty for the whole row
	Reason string
}
