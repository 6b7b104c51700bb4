package service_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

var benchLeadSeq atomic.Int64

// benchLead returns a new person: unique e-mail and phone, CJK name and company, as a web form sends.
func benchLead() service.LeadInput {
	i := benchLeadSeq.Add(1)
	size := int32(50 + i%500)
	return service.LeadInput{Name: "张伟" + fmt.Sprint(i%97), Title: "销售总监", Company: "上海云启科技有限公司",
		Email: fmt.Sprintf("zhang.wei.%d@example.cn", i), Phone: fmt.Sprintf("139 %04d %04d", (i/1e4)%1e4, i%1e4),
		Industry: "manufacturing", CompanySize: &size, Country: "CN", Region: "上海", City: "上海",
		Source: crm.SourceWebForm, Campaign: "spring", UTM: crm.UTM{Source: "baidu", Medium: "cpc"}}
}

// BenchmarkCaptureLead measures one captureLead of a new person (dedup lookup, lead, touch, event
// and scoring job in one transaction), run from 8 goroutines like concurrent form posts.
func BenchmarkCaptureLead(b *testing.B) {
	e := newEnv(b)
	b.ReportAllocs()
	b.SetParallelism(4) // 4 x GOMAXPROCS (2 here) = 8 in flight
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := e.svc.CaptureLead(e.ctx, e.sys, benchLead())
			if err != nil || res.Outcome != service.CaptureCreated {
				b.Errorf("capture: %v %v", res.Outcome, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "leads/s")
}

// BenchmarkCaptureLeads500 measures captureLeads of 500 new people in one call.
func BenchmarkCaptureLeads500(b *testing.B) {
	e := newEnv(b)
	b.ReportAllocs()
	batch := make([]service.LeadInput, service.MaxCaptureBatch)
	for b.Loop() {
		b.StopTimer()
		for i := range batch {
			batch[i] = benchLead()
		}
		b.StartTimer()
		items, err := e.svc.CaptureLeads(e.ctx, e.sys, batch)
		require.NoError(b, err)
		for _, it := range items {
			require.NoError(b, it.Err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "leads/s")
}
