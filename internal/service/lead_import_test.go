package service_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

// upload uploads a file as a and returns the import.
func (e *env) upload(a *crm.Actor, name string, data []byte) crm.LeadImport {
	e.t.Helper()
	imp, err := e.svc.UploadLeadImport(e.ctx, a, service.LeadImportUpload{FileName: name}, bytes.NewReader(data))
	require.NoError(e.t, err)
	return imp
}

// runImport starts an import with the suggested mapping and runs its job to the end.
func (e *env) runImport(a *crm.Actor, imp crm.LeadImport) crm.LeadImport {
	e.t.Helper()
	_, err := e.svc.StartLeadImport(e.ctx, a, imp.ID, nil, nil, nil)
	require.NoError(e.t, err)
	require.NoError(e.t, e.svc.RunLeadImport(e.ctx, e.org.ID, imp.ID))
	got, err := e.svc.LeadImport(e.ctx, a, imp.ID)
	require.NoError(e.t, err)
	return got
}

func gbkBytes(t testing.TB, s string) []byte {
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	require.NoError(t, err)
	return b
}

func TestLeadImportReadsAGBKFileWithChineseHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	file := gbkBytes(t, "姓名,单位,邮箱,手机号,职务,省份,城市\r\n"+
		"张伟,北京科技有限公司,zhang.wei@example.cn,138 0013 8000,销售总监,北京,北京\r\n"+
		"李娜,上海贸易有限公司,li.na@example.cn,13900139000,采购经理,上海,上海\r\n")
	imp := e.upload(e.rep1, "客户.csv", file)
	require.Equal(t, "GB18030", imp.Encoding)
	require.Equal(t, []string{"姓名", "单位", "邮箱", "手机号", "职务", "省份", "城市"}, imp.Headers)
	require.Equal(t, crm.ImportUploaded, imp.Status)
	require.EqualValues(t, 2, imp.RowsTotal)
	require.Equal(t, map[string]string{"姓名": "name", "单位": "company", "邮箱": "email", "手机号": "phone", "职务": "title",
		"省份": "region", "城市": "city"}, service.SuggestLeadImportMapping(imp.Headers))

	done := e.runImport(e.rep1, imp)
	require.Equal(t, crm.ImportDone, done.Status, done.Error)
	require.EqualValues(t, 2, done.RowsImported)
	require.EqualValues(t, 2, done.RowsDone)
	require.EqualValues(t, 0, done.RowsFailed)
	require.Equal(t, 1, e.count(`SELECT count(*) FROM leads WHERE org_id = $1 AND name = '张伟' AND company = '北京科技有限公司'
		AND phone = '+8613800138000' AND title = '销售总监' AND source = 'import'`, e.org.ID), "Chinese arrives intact, no mojibake")
	require.Equal(t, 2, e.count(`SELECT count(*) FROM lead_touches WHERE import_id = $1 AND payload->>'姓名' <> ''`, imp.ID),
		"touches name the import and keep the row")
	require.Equal(t, 0, e.count(`SELECT count(*) FROM lead_import_chunks WHERE import_id = $1`, imp.ID), "the file is dropped when done")
}

func TestLeadImportRefusesUnreadableFilesAndStoresNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	latin1 := []byte("name,company\nJ\xfcrgen M\xfcller,Soci\xe9t\xe9 G\xe9n\xe9rale\n")
	tests := []struct {
		name, err string
		data      []byte
	}{
		{name: "Latin-1", data: latin1, err: "Windows-1252 or Latin-1"},
		{name: "empty", data: nil, err: "empty"},
		{name: "blank lines only", data: []byte("\r\n\r\n"), err: "no header row"},
		{name: "blank header", data: []byte(",,\na,b,c\n"), err: "no header row"},
	}
	for _, tt := range tests {
		_, err := e.svc.UploadLeadImport(e.ctx, e.rep1, service.LeadImportUpload{FileName: tt.name}, bytes.NewReader(tt.data))
		requireCode(t, err, crm.EINVALID, "file")
		require.ErrorContains(t, err, tt.err)
	}
	require.Equal(t, 0, e.count(`SELECT count(*) FROM lead_imports`))
	require.Equal(t, 0, e.count(`SELECT count(*) FROM lead_import_chunks`))

	_, err := e.svc.UploadLeadImport(e.ctx, e.analyst, service.LeadImportUpload{}, strings.NewReader("email\na@b.cn\n"))
	requireCode(t, err, crm.EFORBIDDEN)
	_, err = e.svc.UploadLeadImport(e.ctx, e.rep1, service.LeadImportUpload{Source: "fax"}, strings.NewReader("email\na@b.cn\n"))
	requireCode(t, err, crm.EINVALID, "source")
}

func TestLeadImportWithoutAnIdentifyingColumnFailsBeforeAnyRow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	imp := e.upload(e.rep1, "companies.csv", []byte("公司;行业;城市\n北京科技有限公司;软件;北京\n"))
	require.Equal(t, ";", imp.Delimiter)
	_, err := e.svc.StartLeadImport(e.ctx, e.rep1, imp.ID, nil, nil, nil)
	requireCode(t, err, crm.EINVALID, "mapping")
	require.ErrorContains(t, err, "No column holds a name, an e-mail or a phone number")
	_, err = e.svc.StartLeadImport(e.ctx, e.rep1, imp.ID, map[string]string{"公司": "email", "行业": "email"}, nil, nil)
	requireCode(t, err, crm.EINVALID, "mapping")

	got, err := e.svc.LeadImport(e.ctx, e.rep1, imp.ID)
	require.NoError(t, err)
	require.Equal(t, crm.ImportUploaded, got.Status, "nothing was queued")
	require.Equal(t, 0, e.count(`SELECT count(*) FROM river_job WHERE kind = 'lead.import'`))

	// An explicit mapping makes the file importable.
	src := crm.SourceEvent
	started, err := e.svc.StartLeadImport(e.ctx, e.rep1, imp.ID, map[string]string{"公司": "name", "城市": "custom.city"}, &src, nil)
	require.NoError(t, err)
	require.Equal(t, crm.ImportQueued, started.Status)
	require.Equal(t, 1, e.count(`SELECT count(*) FROM river_job WHERE kind = 'lead.import' AND args->>'import_id' = $1`, imp.ID.String()),
		"the job is enqueued with the status change")
	_, err = e.svc.StartLeadImport(e.ctx, e.rep1, imp.ID, nil, nil, nil)
	requireCode(t, err, crm.ECONFLICT)

	// Other reps do not see it; admins do.
	_, err = e.svc.LeadImport(e.ctx, e.rep2, imp.ID)
	requireCode(t, err, crm.ENOTFOUND)
	_, err = e.svc.CancelLeadImport(e.ctx, e.rep2, imp.ID)
	requireCode(t, err, crm.ENOTFOUND)
	_, err = e.svc.LeadImport(e.ctx, e.admin, imp.ID)
	require.NoError(t, err)
}

// badRowsFile has good rows and bad ones: every third row has an e-mail that is not one and no
// name (fails), every seventh good row has a bad phone (imported without it), and the last good row
// repeats an existing lead's e-mail (merged).
func badRowsFile(rows int) (data []byte, good, failed, partial int) {
	var b bytes.Buffer
	b.WriteString("Name,Email,Phone,Company\n")
	for i := range rows {
		switch {
		case i%3 == 0:
			fmt.Fprintf(&b, ",not-an-email-%d,,Bad Row Ltd\n", i)
			failed++
		case i%7 == 0:
			fmt.Fprintf(&b, "Person %d,p%d@example.com,12,Good Ltd\n", i, i)
			good++
			partial++
		default:
			fmt.Fprintf(&b, "Person %d,p%d@example.com,+86 139 %08d,Good Ltd\n", i, i, i)
			good++
		}
	}
	fmt.Fprintf(&b, "Known Person,KNOWN@example.com,,\n")
	return b.Bytes(), good + 1, failed, partial
}

func TestLeadImportReportsEveryBadRowAndImportsTheGoodOnes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	known := e.capture(e.admin, service.LeadInput{Name: "Known", Email: "known@example.com"})
	data, good, failed, partial := badRowsFile(30000) // 10,000 bad rows
	require.Equal(t, 10000, failed)
	imp := e.upload(e.rep1, "bad.csv", data)
	done := e.runImport(e.rep1, imp)
	require.Equal(t, crm.ImportDone, done.Status, done.Error)
	require.EqualValues(t, 30001, done.RowsDone)
	require.EqualValues(t, 30001, done.RowsTotal, "exact once done")
	require.EqualValues(t, failed, done.RowsFailed)
	require.EqualValues(t, good-1, done.RowsImported)
	require.EqualValues(t, 1, done.RowsMerged, "the known person becomes a touch on the existing lead")
	require.EqualValues(t, 30002, done.ResumeLine)
	require.Equal(t, good, e.count(`SELECT count(*) FROM leads WHERE org_id = $1`, e.org.ID))
	require.Equal(t, 2, e.count(`SELECT touch_count FROM leads WHERE id = $1`, known.Lead.ID))

	// The report: per line and field, in file order, paged.
	errs, info, total, err := e.svc.LeadImportErrors(e.ctx, e.rep1, imp.ID, 3, "", true)
	require.NoError(t, err)
	require.Equal(t, 2*failed+partial, total, "failed rows: the e-mail and the row; partial rows: the phone")
	require.True(t, info.HasNextPage)
	require.Equal(t, crm.ImportError{Line: 2, Field: "", Reason: "The row has no name and no valid e-mail or phone left (see the other reasons on this line), so it cannot become a lead."}, errs[0])
	require.Equal(t, int32(2), errs[1].Line)
	require.Equal(t, "email", errs[1].Field)
	require.Contains(t, errs[1].Reason, "not-an-email-0")
	next, _, _, err := e.svc.LeadImportErrors(e.ctx, e.rep1, imp.ID, 100, info.EndCursor, false)
	require.NoError(t, err)
	require.Equal(t, crm.ImportError{Line: 5, Field: "", Reason: errs[0].Reason}, errs[2])
	require.Equal(t, int32(5), next[0].Line, "the next page goes on after the cursor")
	require.Equal(t, "email", next[0].Field)
	var phone *crm.ImportError
	for i := range next {
		if next[i].Field == "phone" {
			phone = &next[i]
			break
		}
	}
	require.NotNil(t, phone)
	require.Equal(t, int32(9), phone.Line, "row 7 (line 9) keeps its lead but loses its phone")
	require.Contains(t, phone.Reason, `"12" is not a valid phone number`)
	require.Equal(t, 1, e.count(`SELECT count(*) FROM leads WHERE org_id = $1 AND email = 'p7@example.com' AND phone IS NULL`, e.org.ID))
}

func TestLeadImportResumesAfterACrashWithoutDuplicates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	data, good, failed, _ := badRowsFile(1600)
	imp := e.upload(e.rep1, "crash.csv", data)
	_, err := e.svc.StartLeadImport(e.ctx, e.rep1, imp.ID, nil, nil, nil)
	require.NoError(t, err)
	crash := errors.New("the worker died")
	batches := 0
	service.SetAfterImportBatch(e.svc, func(crm.LeadImport) error {
		if batches++; batches == 2 {
			return crash
		}
		return nil
	})
	require.ErrorIs(t, e.svc.RunLeadImport(e.ctx, e.org.ID, imp.ID), crash)
	mid, err := e.svc.LeadImport(e.ctx, e.rep1, imp.ID)
	require.NoError(t, err)
	require.Equal(t, crm.ImportRunning, mid.Status)
	require.EqualValues(t, 2*service.ImportBatchRows, mid.RowsDone)
	require.EqualValues(t, 2*service.ImportBatchRows+1, mid.ResumeLine, "the header is line 1")

	require.NoError(t, e.svc.RunLeadImport(e.ctx, e.org.ID, imp.ID)) // River's retry
	done, err := e.svc.LeadImport(e.ctx, e.rep1, imp.ID)
	require.NoError(t, err)
	require.Equal(t, crm.ImportDone, done.Status)
	require.EqualValues(t, 1601, done.RowsDone)
	require.EqualValues(t, failed, done.RowsFailed)
	require.EqualValues(t, good, done.RowsImported, "the last row is new here")
	require.Equal(t, good, e.count(`SELECT count(*) FROM leads WHERE org_id = $1`, e.org.ID), "no row imported twice")
	require.Equal(t, 2*failed, e.count(`SELECT count(*) FROM lead_import_errors WHERE import_id = $1 AND field IN ('', 'email')`, imp.ID))

	require.NoError(t, e.svc.RunLeadImport(e.ctx, e.org.ID, imp.ID), "a finished import ignores another run")
}

func TestCancelLeadImportStopsBeforeTheNextBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	data, _, _, _ := badRowsFile(3000)
	imp := e.upload(e.rep1, "cancel.csv", data)
	_, err := e.svc.StartLeadImport(e.ctx, e.rep1, imp.ID, nil, nil, nil)
	require.NoError(t, err)
	service.SetAfterImportBatch(e.svc, func(crm.LeadImport) error {
		_, err := e.svc.CancelLeadImport(e.ctx, e.rep1, imp.ID) // the user cancels while the job runs
		return err
	})
	require.NoError(t, e.svc.RunLeadImport(e.ctx, e.org.ID, imp.ID))
	got, err := e.svc.LeadImport(e.ctx, e.rep1, imp.ID)
	require.NoError(t, err)
	require.Equal(t, crm.ImportCancelled, got.Status)
	require.EqualValues(t, service.ImportBatchRows, got.RowsDone, "the batch committed before the cancel stays")
	require.Equal(t, int(got.RowsImported), e.count(`SELECT count(*) FROM leads WHERE org_id = $1`, e.org.ID))
	require.Equal(t, 0, e.count(`SELECT count(*) FROM lead_import_chunks WHERE import_id = $1`, imp.ID))
	_, err = e.svc.CancelLeadImport(e.ctx, e.rep1, imp.ID)
	requireCode(t, err, crm.ECONFLICT)
}

func TestLeadImportProgressIsStreamedPerBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	go func() { _ = e.hub.Run(ctx) }()
	go func() { _ = e.relay.Run(ctx) }()
	data, _, _, _ := badRowsFile(1200)
	imp := e.upload(e.rep1, "progress.csv", data)
	start := service.EventCursor(0)
	progress, err := e.svc.SubscribeLeadImport(ctx, e.rep1, imp.ID, &start)
	require.NoError(t, err)
	_, err = e.svc.SubscribeLeadImport(ctx, e.rep2, imp.ID, &start)
	requireCode(t, err, crm.ENOTFOUND)
	e.runImport(e.rep1, imp)

	var done []int32
	for {
		select {
		case p := <-progress:
			if p.Type == service.EventImportProgress && p.Import.Status == crm.ImportRunning && p.Import.RowsDone == 0 {
				continue // the job's start
			}
			if p.Type != service.EventImportProgress {
				continue
			}
			done = append(done, p.Import.RowsDone)
			if p.Import.Status == crm.ImportDone {
				require.Equal(t, []int32{500, 1000, 1201}, done)
				return
			}
		case <-ctx.Done():
			t.Fatalf("progress so far: %v", done)
		}
	}
}

func TestLeadImportListsTheActorsImports(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.upload(e.rep1, "a.csv", []byte("email\na@x.cn\n"))
	b := e.upload(e.rep1, "b.csv", []byte("email\nb@x.cn\n"))
	e.upload(e.rep2, "c.csv", []byte("email\nc@x.cn\n"))
	page, info, err := e.svc.ListLeadImports(e.ctx, e.rep1, 1, "")
	require.NoError(t, err)
	require.Equal(t, []crm.ID{b.ID}, []crm.ID{page[0].ID})
	page, _, err = e.svc.ListLeadImports(e.ctx, e.rep1, 10, info.EndCursor)
	require.NoError(t, err)
	require.Len(t, page, 1)
	require.Equal(t, a.ID, page[0].ID)
	all, _, err := e.svc.ListLeadImports(e.ctx, e.admin, 10, "")
	require.NoError(t, err)
	require.Len(t, all, 3)
}

func TestLeadImportReadsUTF16(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	text := "姓名\t公司\t邮箱\r\n上官婉儿\t上海贸易有限公司\twaner@example.cn\r\n王上\t上上签\tshang@example.cn\r\n"
	file := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(text)) {
		file = append(file, byte(u), byte(u>>8))
	}
	imp := e.upload(e.rep1, "unicode.txt", file)
	require.Equal(t, "UTF-16LE", imp.Encoding)
	require.Equal(t, "\t", imp.Delimiter)
	require.EqualValues(t, 2, imp.RowsTotal, "U+4E0A (上) holds a 0x0A byte but is no line break")
	done := e.runImport(e.rep1, imp)
	require.EqualValues(t, 2, done.RowsImported)
	require.Equal(t, 1, e.count(`SELECT count(*) FROM leads WHERE name = '上官婉儿' AND company = '上海贸易有限公司'`))
}
