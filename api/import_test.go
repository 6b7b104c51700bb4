package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

type uploadResponse struct {
	Status int
	Body   map[string]any
}

// upload posts a CSV body to /imports/leads as a demo user ("" for anonymous).
func (s *server) upload(who, contentType, query string, body io.Reader, size int64) uploadResponse {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.url+"/imports/leads?"+query, body)
	require.NoError(s.t, err)
	req.ContentLength = size
	req.Header.Set("Content-Type", contentType)
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+s.tokens[who])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := uploadResponse{Status: resp.StatusCode}
	require.NoError(s.t, json.Unmarshal(raw, &out.Body), "body: %s", raw)
	return out
}

func (r uploadResponse) code() any { return dig(r.Body, "errors", 0, "extensions", "code") }

// runImportJob runs the import job the way the worker does, for the demo organization.
func (s *server) runImportJob(who string, globalID string) error {
	s.t.Helper()
	a, err := s.svc.Authenticate(context.Background(), s.tokens[who])
	require.NoError(s.t, err)
	_, id, ok := crm.ParseGlobalID(globalID)
	require.True(s.t, ok)
	return s.svc.RunLeadImport(context.Background(), a.OrgID, id)
}

const importQuery = `query($id: ID!) { leadImport(id: $id) { id status encoding rowsTotal rowsDone rowsImported rowsMerged rowsFailed
  mapping { column field } source createdBy { email }
  errors(first: 10) { totalCount nodes { line field reason } pageInfo { hasNextPage } } } }`

// A GBK file exported by Excel on Chinese Windows, uploaded with a token, mapped and started
// through GraphQL: the names arrive as written, bad rows are reported per line and field.
func TestLeadImportThroughHTTPAndGraphQL(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	file, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte("姓名,单位,邮箱,手机号,备注\r\n" +
		"张伟,北京科技有限公司,zhang.wei@import.example.cn,186 2718 3141,老客户\r\n" +
		"欧阳娜娜,深圳市星河电子股份有限公司,nana@import.example.cn,,\r\n" +
		",没有名字的公司,不是邮箱,,\r\n" +
		"李雷,上海贸易有限公司,li.lei@import,18627183142,\r\n"))
	require.NoError(t, err)

	up := s.upload("rep1", "text/csv", "fileName=%E5%AE%A2%E6%88%B7.csv&campaign=2024%E5%B1%95%E4%BC%9A", bytes.NewReader(file), int64(len(file)))
	require.Equal(t, http.StatusCreated, up.Status, "%v", up.Body)
	require.Equal(t, "GB18030", up.Body["encoding"])
	require.Equal(t, "客户.csv", up.Body["fileName"])
	require.Equal(t, []any{"姓名", "单位", "邮箱", "手机号", "备注"}, up.Body["headers"])
	require.Equal(t, map[string]any{"column": "姓名", "field": "name"}, dig(up.Body, "suggestedMapping", 0))
	require.Equal(t, map[string]any{"column": "备注", "field": ""}, dig(up.Body, "suggestedMapping", 4))
	id := up.Body["id"].(string)

	// Another rep can neither see nor start it.
	r := s.do("rep2", `mutation($id: ID!) { startLeadImport(id: $id) { id } }`, map[string]any{"id": id})
	require.Equal(t, "NOT_FOUND", r.code())

	r = s.do("rep1", `mutation($id: ID!, $m: [ColumnMappingInput!]) { startLeadImport(id: $id, mapping: $m, source: EVENT) { status source mapping { column field } } }`,
		map[string]any{"id": id, "m": []map[string]string{{"column": "单位", "field": "company"}, {"column": "备注", "field": "custom.note"}}})
	require.Equal(t, "BAD_USER_INPUT", r.code(), "no name, e-mail or phone column")
	require.Equal(t, "mapping", r.Errors[0].Extensions["field"])
	r = s.do("rep1", `mutation($id: ID!, $m: [ColumnMappingInput!]) { startLeadImport(id: $id, mapping: $m, source: EVENT) { status source mapping { column field } } }`,
		map[string]any{"id": id, "m": []map[string]string{{"column": "姓名", "field": "name"}, {"column": "单位", "field": "company"},
			{"column": "邮箱", "field": "email"}, {"column": "手机号", "field": "phone"}, {"column": "备注", "field": "custom.note"}}})
	require.Empty(t, r.Errors)
	require.Equal(t, "QUEUED", dig(r.Data, "startLeadImport", "status"))
	require.Equal(t, "EVENT", dig(r.Data, "startLeadImport", "source"))

	require.NoError(t, s.runImportJob("rep1", id))
	r = s.do("rep1", importQuery, map[string]any{"id": id})
	require.Empty(t, r.Errors)
	imp := dig(r.Data, "leadImport").(map[string]any)
	require.Equal(t, "DONE", imp["status"])
	require.EqualValues(t, 4, imp["rowsDone"])
	require.EqualValues(t, 3, imp["rowsImported"])
	require.EqualValues(t, 1, imp["rowsFailed"])
	require.Equal(t, "rep1@demo.test", dig(imp, "createdBy", "email"))
	require.EqualValues(t, 3, dig(imp, "errors", "totalCount"))
	require.Equal(t, []any{
		map[string]any{"line": 4.0, "field": nil, "reason": "The row has no name and no valid e-mail or phone left (see the other reasons on this line), so it cannot become a lead."},
		map[string]any{"line": 4.0, "field": "email", "reason": dig(imp, "errors", "nodes", 1, "reason")},
		map[string]any{"line": 5.0, "field": "email", "reason": dig(imp, "errors", "nodes", 2, "reason")},
	}, dig(imp, "errors", "nodes"))
	require.Contains(t, dig(imp, "errors", "nodes", 2, "reason"), "li.lei@import")

	r = s.do("rep1", `{ leads(first: 10, filter: {search: "import.example.cn"}) { nodes { name company email source campaign } } }`, nil)
	require.Empty(t, r.Errors)
	names := map[string]string{}
	for _, n := range dig(r.Data, "leads", "nodes").([]any) {
		m := n.(map[string]any)
		names[m["name"].(string)] = m["company"].(string)
		require.Equal(t, "EVENT", m["source"])
		require.Equal(t, "2024展会", m["campaign"])
	}
	require.Equal(t, "北京科技有限公司", names["张伟"], "Chinese names arrive intact: %v", names)
	require.Equal(t, "深圳市星河电子股份有限公司", names["欧阳娜娜"])

	r = s.do("rep1", `{ leadImports(first: 5) { nodes { id fileName } } }`, nil)
	require.Equal(t, id, dig(r.Data, "leadImports", "nodes", 0, "id"))
	r = s.do("rep1", `mutation($id: ID!) { cancelLeadImport(id: $id) { id } }`, map[string]any{"id": id})
	require.Equal(t, "CONFLICT", r.code(), "a finished import cannot be cancelled")
}

func TestLeadImportUploadRefusals(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	body := "email\nwei@example.com\n"
	up := s.upload("", "text/csv", "", strings.NewReader(body), int64(len(body)))
	require.Equal(t, http.StatusUnauthorized, up.Status)
	require.Equal(t, "UNAUTHENTICATED", up.code())

	up = s.upload("analyst", "text/csv", "", strings.NewReader(body), int64(len(body)))
	require.Equal(t, http.StatusForbidden, up.Status)

	latin1 := "name,company\nJ\xfcrgen M\xfcller,Soci\xe9t\xe9 G\xe9n\xe9rale\n"
	up = s.upload("rep1", "text/csv", "", strings.NewReader(latin1), int64(len(latin1)))
	require.Equal(t, http.StatusBadRequest, up.Status)
	require.Equal(t, "BAD_USER_INPUT", up.code())
	require.Equal(t, "file", dig(up.Body, "errors", 0, "extensions", "field"))
	require.Contains(t, dig(up.Body, "errors", 0, "message"), "CSV UTF-8")

	// A file announced larger than the limit is refused before it is read.
	size := int64(service.MaxImportBytes + 2<<20)
	up = s.upload("rep1", "text/csv", "", io.LimitReader(zeros{}, size), size)
	require.Equal(t, http.StatusRequestEntityTooLarge, up.Status)
	require.Equal(t, "BAD_USER_INPUT", up.code())
	require.EqualValues(t, service.MaxImportBytes, dig(up.Body, "errors", 0, "extensions", "maxBytes"))
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// A multipart form with one file part works like a raw body; the upload's file name is the part's.
func TestLeadImportMultipartUploadAndCancel(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var csv strings.Builder
	csv.WriteString("\uFEFFName;Email;Company\r\n")
	const rows = 20000
	for i := range rows {
		fmt.Fprintf(&csv, "Person %d;p%d@multipart.example.com;\"Acme; Inc.\"\r\n", i, i)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	require.NoError(t, mw.WriteField("note", "ignored"))
	fw, err := mw.CreateFormFile("file", "people.csv")
	require.NoError(t, err)
	_, _ = fw.Write([]byte(csv.String()))
	require.NoError(t, mw.Close())
	up := s.upload("rep1", mw.FormDataContentType(), "", &body, int64(body.Len()))
	require.Equal(t, http.StatusCreated, up.Status, "%v", up.Body)
	require.Equal(t, "people.csv", up.Body["fileName"])
	require.Equal(t, "UTF-8", up.Body["encoding"])
	require.Equal(t, ";", up.Body["delimiter"])
	require.Equal(t, []any{"Name", "Email", "Company"}, up.Body["headers"])
	id := up.Body["id"].(string)

	r := s.do("rep1", `mutation($id: ID!) { startLeadImport(id: $id) { status } }`, map[string]any{"id": id})
	require.Empty(t, r.Errors)

	// The job runs; the user cancels once the first batch is in.
	done := make(chan error, 1)
	go func() { done <- s.runImportJob("rep1", id) }()
	deadline := time.Now().Add(time.Minute)
	for {
		r = s.do("rep1", importQuery, map[string]any{"id": id})
		require.Empty(t, r.Errors)
		if n, _ := dig(r.Data, "leadImport", "rowsDone").(float64); n > 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "no batch committed in a minute")
	}
	r = s.do("rep1", `mutation($id: ID!) { cancelLeadImport(id: $id) { status } }`, map[string]any{"id": id})
	require.Empty(t, r.Errors)
	require.Equal(t, "CANCELLED", dig(r.Data, "cancelLeadImport", "status"))
	require.NoError(t, <-done)
	r = s.do("rep1", importQuery, map[string]any{"id": id})
	imp := dig(r.Data, "leadImport").(map[string]any)
	require.Equal(t, "CANCELLED", imp["status"])
	require.Less(t, imp["rowsDone"], float64(rows), "the job stopped before the end")
	require.Equal(t, imp["rowsDone"], imp["rowsImported"])
}

// Progress reaches a subscriber over SSE, batch by batch, from the events' snapshots.
func TestLeadImportProgressOverSSE(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a hang guard
	defer cancel()
	go func() { _ = s.hub.Run(ctx) }()
	go func() { _ = s.relay.Run(ctx) }()
	var csv strings.Builder
	csv.WriteString("Email\n")
	for i := range 1200 {
		fmt.Fprintf(&csv, "sse%d@progress.example.com\n", i)
	}
	up := s.upload("rep1", "text/csv", "", strings.NewReader(csv.String()), int64(csv.Len()))
	require.Equal(t, http.StatusCreated, up.Status, "%v", up.Body)
	id := up.Body["id"].(string)
	// From the start of the log: the subscription misses nothing, whenever it registers.
	after := service.EventCursor(0)
	body, err := json.Marshal(map[string]any{"query": `subscription($id: ID!, $after: String) { leadImportProgress(id: $id, after: $after) { event import { status rowsDone } } }`,
		"variables": map[string]any{"id": id, "after": after}})
	require.NoError(t, err)
	lines := s.sse(ctx, "rep1", string(body))
	r := s.do("rep1", `mutation($id: ID!) { startLeadImport(id: $id) { status } }`, map[string]any{"id": id})
	require.Empty(t, r.Errors)
	require.NoError(t, s.runImportJob("rep1", id))

	var done []float64
	for line := range lines {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var msg struct {
			Data struct {
				LeadImportProgress struct {
					Event  string
					Import struct {
						Status   string
						RowsDone float64
					}
				}
			}
		}
		require.NoError(t, json.Unmarshal([]byte(data), &msg), data)
		p := msg.Data.LeadImportProgress
		if p.Event == service.EventImportProgress && p.Import.RowsDone > 0 {
			done = append(done, p.Import.RowsDone)
		}
		if p.Import.Status == "DONE" {
			require.Equal(t, []float64{500, 1000, 1200}, done)
			return
		}
	}
	t.Fatalf("the stream ended after %v", done)
}
