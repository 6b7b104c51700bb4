package api

import (
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/rapportcrm/rapport/graph"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

// multipartOverhead is what a multipart envelope may add to the file it carries.
const multipartOverhead = 1 << 20

// importStatus is the HTTP status of each application error code.
var importStatus = map[string]int{
	crm.EINVALID: http.StatusBadRequest, crm.EUNAUTHENTICATED: http.StatusUnauthorized,
	crm.EFORBIDDEN: http.StatusForbidden, crm.ENOTFOUND: http.StatusNotFound, crm.ECONFLICT: http.StatusConflict,
	crm.ERATELIMITED: http.StatusTooManyRequests,
}

// uploadLeadImport serves POST /imports/leads: a CSV file of leads, as the raw body or as the one
// file part of a multipart/form-data body (not the GraphQL multipart protocol), with the query
// parameters fileName, source and campaign, and the user's bearer token. The file is streamed into
// the database in chunks; the answer (201) is the import with its detected encoding, delimiter,
// header row and suggested mapping, ready for startLeadImport. Errors are GraphQL-shaped
// ({"errors": [{"message", "extensions": {"code", "field"}}]}): 413 for a file over the limit, 400
// for one in an unreadable encoding or without a header.
func uploadLeadImport(svc *service.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		a, err := graph.Actor(ctx)
		if err != nil {
			writeImportError(w, r, log, err)
			return
		}
		if r.ContentLength > service.MaxImportBytes+multipartOverhead {
			writeImportError(w, r, log, service.ErrImportTooLarge)
			return
		}
		body := http.MaxBytesReader(w, r.Body, service.MaxImportBytes+multipartOverhead)
		q := r.URL.Query()
		in := service.LeadImportUpload{FileName: q.Get("fileName"), Source: q.Get("source"), Campaign: q.Get("campaign")}
		var file io.Reader = body
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
			r.Body = body
			part, err := filePart(r)
			if err != nil {
				writeImportError(w, r, log, err)
				return
			}
			defer part.Close()
			if in.FileName == "" {
				in.FileName = part.FileName()
			}
			file = part
		}
		imp, err := svc.UploadLeadImport(ctx, a, in, file)
		if err != nil {
			writeImportError(w, r, log, err)
			return
		}
		mapping := service.SuggestLeadImportMapping(imp.Headers)
		suggested := make([]map[string]string, len(imp.Headers))
		for i, h := range imp.Headers {
			suggested[i] = map[string]string{"column": h, "field": mapping[h]}
		}
		writeJSON(w, http.StatusCreated, map[string]any{
			"id": imp.GlobalID(), "fileName": imp.FileName, "sizeBytes": imp.SizeBytes, "encoding": imp.Encoding,
			"delimiter": imp.Delimiter, "headers": imp.Headers, "suggestedMapping": suggested,
			"rowsTotal": imp.RowsTotal, "status": strings.ToUpper(string(imp.Status)),
			"source": imp.Source, "campaign": imp.Campaign,
		})
	}
}

// filePart returns the first file part of a multipart/form-data body, skipping other fields.
func filePart(r *http.Request) (interface {
	io.ReadCloser
	FileName() string
}, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, crm.Invalid("file", "The multipart body cannot be read: %v.", err)
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, crm.Invalid("file", "The multipart body has no file part: send the CSV file as a part with a filename.")
		} else if err != nil {
			if service.TooLarge(err) {
				return nil, service.ErrImportTooLarge
			}
			return nil, crm.Invalid("file", "The multipart body cannot be read: %v.", err)
		}
		if p.FileName() != "" || p.FormName() == "file" {
			return p, nil
		}
		_ = p.Close()
	}
}

// writeImportError answers an upload error in the GraphQL error shape with a matching status.
func writeImportError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status := importStatus[crm.ErrorCode(err)]
	if service.TooLarge(err) {
		status, err = http.StatusRequestEntityTooLarge, service.ErrImportTooLarge
	}
	if status == 0 {
		log.ErrorContext(r.Context(), "lead import upload failed", "request_id", RequestID(r.Context()), "err", err)
		writeGraphQLError(w, http.StatusInternalServerError, "INTERNAL", "Internal error; it was logged, please report the request ID if it persists.")
		return
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	ext := map[string]any{"code": graph.ErrorCode(err)}
	var e *crm.Error
	if errors.As(err, &e) {
		if e.Field != "" {
			ext["field"] = e.Field
		}
		for k, v := range e.Details {
			ext[k] = v
		}
	}
	writeJSON(w, status, map[string]any{"errors": []map[string]any{{"message": crm.ErrorMessage(err), "extensions": ext}}})
}

// importPath is where CSV files of leads are uploaded.
const importPath = "/imports/leads"
