package service_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

// Material for realistic lead files: Chinese and international people, companies and places.
var (
	surnames   = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "欧阳", "司马"}
	givenNames = []string{"伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "小明", "晓东"}
	westFirst  = []string{"Anna", "James", "María", "Jürgen", "Chloé", "Oğuz", "Søren", "Priya", "Kenji", "Olivia", "Mohammed", "Zoë"}
	westLast   = []string{"Smith", "García", "Müller", "Dubois", "Yılmaz", "Nielsen", "Sharma", "Tanaka", "O'Brien", "Kowalski", "da Silva"}
	companies  = []string{"北京%s科技有限公司", "上海%s贸易有限公司", "深圳市%s电子股份有限公司", "%s Logistics GmbH", "%s Solutions Ltd.", "\"%s, Inc.\""}
	brands     = []string{"华信", "云启", "星河", "天成", "Acme", "Nordwind", "Bluefin", "恒通", "瑞丰", "Lumen"}
	titles     = []string{"销售总监", "采购经理", "CTO", "IT 主管", "Head of Procurement", "总经理", "VP Sales", "工程师", "Marketing Manager"}
	places     = [][2]string{{"北京", "北京"}, {"上海", "上海"}, {"广东", "深圳"}, {"广东", "广州"}, {"浙江", "杭州"}, {"四川", "成都"}, {"Bavaria", "Munich"}, {"California", "San Francisco"}}
	industries = []string{"软件", "制造业", "零售", "金融", "Healthcare", "Logistics", "教育"}
)

// writeLeadCSV writes a realistic lead file of n rows to w, as Excel on Chinese Windows would
// export it (UTF-8 with BOM here; the encoding is tested apart), with Chinese headers. About 1 % of
// the rows have no usable identity (they fail), 2 % a bad phone (imported without it) and 1 %
// repeat an earlier row's e-mail (merged into that lead).
func writeLeadCSV(w io.Writer, n int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString("\uFEFF姓名,公司,邮箱,手机,职位,行业,省份,城市,公司规模,国家,utm_source,custom.备注\r\n")
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	for i := range n {
		var name, country string
		if r.IntN(10) < 7 {
			name, country = pick(surnames)+pick(givenNames), "中国"
		} else {
			name, country = pick(westFirst)+" "+pick(westLast), pick([]string{"DE", "US", "FR", "JP", "GB"})
		}
		email := fmt.Sprintf("lead%d@%s.example.com", i, strings.ToLower(pick([]string{"corp", "mail", "biz", "shop"})))
		phone := fmt.Sprintf("1%d%09d", 3+r.IntN(7), i)
		switch roll := r.IntN(100); {
		case roll == 0: // no identity left: fails
			name, email, phone = "", "lead"+strconv.Itoa(i)+"@", ""
		case roll <= 2: // bad phone: imported without it
			phone = "12-34"
		case roll == 3 && i > 0: // the same person again
			email = fmt.Sprintf("lead%d@corp.example.com", r.IntN(i))
			phone = ""
		}
		place := places[r.IntN(len(places))]
		company := fmt.Sprintf(pick(companies), pick(brands))
		fmt.Fprintf(bw, "%s,%s,%s,%s,%s,%s,%s,%s,%d,%s,%s,%s\r\n", name, company, email, phone, pick(titles), pick(industries),
			place[0], place[1], 10+r.IntN(5000), country, pick([]string{"baidu", "google", "linkedin", ""}), pick([]string{"展会名单", "", "VIP"}))
	}
	return bw.Flush()
}

// memPeak samples the process's heap while a run goes on.
type memPeak struct {
	mu                 sync.Mutex
	heapInuse, sysPeak uint64
}

func (m *memPeak) run(ctx context.Context) {
	var ms runtime.MemStats
	for {
		runtime.ReadMemStats(&ms)
		m.mu.Lock()
		m.heapInuse, m.sysPeak = max(m.heapInuse, ms.HeapInuse), max(m.sysPeak, ms.Sys)
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// vmHWM is the process's peak resident set size in kB (Linux), 0 elsewhere.
func vmHWM() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

// BenchmarkLeadImport100k uploads (streamed from a generator, never whole in memory) and imports
// 100,000 rows into a fresh organization per iteration, and reports rows/s, the peak heap in use
// and the Go runtime's peak memory from the OS while it ran, and the process's peak RSS.
//
//	go test -run '^$' -bench LeadImport100k -benchtime 1x ./internal/service/
func BenchmarkLeadImport100k(b *testing.B) {
	const rows = 100_000
	e := newEnv(b)
	var peak memPeak
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	go peak.run(ctx)
	var upload, run time.Duration
	var u crm.User
	var err error
	i := 0
	for b.Loop() {
		i++
		org := e.newOrg(fmt.Sprintf("bench%d", i))
		u, err = e.svc.CreateUser(e.ctx, crm.SystemActor(org.ID), service.UserInput{Email: "importer@bench.test", Name: "Importer",
			Role: crm.RoleSalesRep, Password: "correct horse battery"})
		require.NoError(b, err)
		a := &crm.Actor{Kind: crm.ActorUser, OrgID: org.ID, UserID: u.ID, Role: crm.RoleSalesRep}
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(writeLeadCSV(pw, rows, uint64(i))) }()
		t0 := time.Now()
		imp, err := e.svc.UploadLeadImport(e.ctx, a, service.LeadImportUpload{FileName: "bench.csv"}, pr)
		require.NoError(b, err)
		t1 := time.Now()
		_, err = e.svc.StartLeadImport(e.ctx, a, imp.ID, nil, nil, nil)
		require.NoError(b, err)
		require.NoError(b, e.svc.RunLeadImport(e.ctx, org.ID, imp.ID))
		upload, run = upload+t1.Sub(t0), run+time.Since(t1)
		done, err := e.svc.LeadImport(e.ctx, a, imp.ID)
		require.NoError(b, err)
		require.Equal(b, crm.ImportDone, done.Status, done.Error)
		require.EqualValues(b, rows, done.RowsDone)
		b.Logf("%d rows (%.1f MiB %s): upload %s, import %s: %d imported, %d merged, %d failed", done.RowsDone,
			float64(imp.SizeBytes)/(1<<20), imp.Encoding, t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond),
			done.RowsImported, done.RowsMerged, done.RowsFailed)
	}
	cancel()
	n := float64(i)
	b.ReportMetric(rows*n/(upload+run).Seconds(), "rows/s")
	b.ReportMetric(upload.Seconds()/n, "upload-s")
	b.ReportMetric(run.Seconds()/n, "import-s")
	peak.mu.Lock()
	b.ReportMetric(float64(peak.heapInuse)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(peak.sysPeak)/(1<<20), "peak-sys-MiB")
	peak.mu.Unlock()
	b.ReportMetric(float64(vmHWM())/1024, "peak-rss-MiB")
}
