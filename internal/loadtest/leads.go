package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Lead capture scenarios: every request captures people never seen before (a run nonce and a
// counter make each e-mail and phone unique), so that each capture creates a lead with its touch,
// event and scoring job, which is the expensive path, rather than touching one lead over and over.

// CaptureDoc captures one lead.
const CaptureDoc = `mutation CaptureLead($input: CaptureLeadInput!) { captureLead(input: $input) { outcome lead { id } warnings { field } } }`

// CaptureBatchDoc captures a batch of leads.
const CaptureBatchDoc = `mutation CaptureLeads($leads: [CaptureLeadInput!]!) { captureLeads(leads: $leads) { captured failed items { error { message } } } }`

// CaptureBatchSize is the number of leads per captureLeads request (the API's maximum).
const CaptureBatchSize = 500

var (
	surnames  = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗", "高"}
	given     = []string{"伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞"}
	pinyinS   = []string{"wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun", "ma", "zhu", "hu", "guo", "he", "lin", "luo", "gao"}
	westFirst = []string{"Anna", "Lukas", "Sofia", "James", "Mia", "Noah", "Emma", "Liam", "Olivia", "Mateo"}
	westLast  = []string{"Müller", "Schmidt", "García", "Smith", "Rossi", "Dubois", "Jensen", "Novak", "Silva", "Kowalski"}
	companies = []string{"上海云启科技有限公司", "深圳华信电子股份有限公司", "北京长城数据有限公司", "杭州青木网络科技有限公司",
		"广州南方制造有限公司", "成都天府软件有限公司", "Nordwind GmbH", "Acme Logistics Ltd", "Lumen Analytics SAS", "Sakura Trading K.K."}
	titles     = []string{"销售总监", "CTO 首席技术官", "采购经理", "IT 主管", "总经理", "Marketing Manager", "VP Sales", "Head of IT", "Buyer", "Director of Operations"}
	industries = []string{"manufacturing", "software", "retail", "logistics", "finance", "education"}
	places     = []struct{ country, region, city string }{{"CN", "上海", "上海"}, {"CN", "广东", "深圳"}, {"CN", "北京", "北京"},
		{"CN", "浙江", "杭州"}, {"CN", "四川", "成都"}, {"DE", "Bayern", "München"}, {"FR", "Île-de-France", "Paris"}, {"US", "CA", "San Francisco"}}
	mobilePrefixes = []string{"135", "136", "137", "138", "139", "150", "151", "152", "158", "159", "186", "187", "188"}
	sources        = []string{"WEB_FORM", "API", "EVENT", "WEBINAR", "ADVERTISING", "REFERRAL"}
)

// LeadFaker makes unique, realistic leads: two in three Chinese (CJK names, +86 mobile numbers),
// the others international (+49, +33, +1). Safe for concurrent use.
type LeadFaker struct {
	nonce string
	base  int // where this run's phone numbers start, so that runs rarely collide
	n     atomic.Int64
}

// NewLeadFaker returns a faker whose leads do not collide with those of earlier runs.
func NewLeadFaker() *LeadFaker {
	now := time.Now().UnixNano()
	return &LeadFaker{nonce: strconv.FormatInt(now%1e10, 36), base: int(now/1e3) % 1e8}
}

// FakeLead is a person as the capture inputs and the lead forms name its fields.
type FakeLead struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	Company     string `json:"company"`
	Email       string `json:"email"`
	Phone       string `json:"phone"`
	Industry    string `json:"industry"`
	CompanySize int    `json:"companySize"`
	Country     string `json:"country"`
	Region      string `json:"region"`
	City        string `json:"city"`
}

// captureInput is captureLead's CaptureLeadInput. The load tool encodes structs, not maps: it shares
// the machine with the server it measures, and a map per lead cost it 9 µs of CPU a lead.
type captureInput struct {
	FakeLead
	Source   string   `json:"source"`
	Campaign string   `json:"campaign"`
	UTM      benchUTM `json:"utm"`
}

// benchUTM is the UTM parameters of every captured lead.
type benchUTM struct {
	Source   string `json:"source"`
	Medium   string `json:"medium"`
	Campaign string `json:"campaign"`
}

// Next returns a new person.
func (f *LeadFaker) Next() FakeLead {
	l, _ := f.next()
	return l
}

// next returns a new person and its sequence number.
func (f *LeadFaker) next() (FakeLead, int) {
	i := int(f.n.Add(1))
	seq := (f.base + i) % 1e8
	pl := places[i%len(places)]
	l := FakeLead{Company: companies[i%len(companies)], Title: titles[(i/3)%len(titles)], Industry: industries[i%len(industries)],
		CompanySize: 10 + (i*37)%2000, Country: pl.country, Region: pl.region, City: pl.city}
	if i%3 != 0 {
		s := i % len(surnames)
		l.Name = surnames[s] + given[(i/7)%len(given)]
		l.Email = fmt.Sprintf("%s.%s.%d@example.cn", pinyinS[s], f.nonce, i)
		l.Phone = fmt.Sprintf("%s %04d %04d", mobilePrefixes[i%len(mobilePrefixes)], seq/1e4, seq%1e4)
	} else {
		first, last := westFirst[i%len(westFirst)], westLast[(i/11)%len(westLast)]
		l.Name = first + " " + last
		l.Email = fmt.Sprintf("%s.%s.%s.%d@example.eu", strings.ToLower(first), f.nonce, "x", i)
		l.Phone = fmt.Sprintf("+49 151 %08d", seq)
	}
	return l, i
}

// nextInput returns the capture input of a new lead.
func (f *LeadFaker) nextInput() captureInput {
	l, i := f.next()
	return captureInput{FakeLead: l, Source: sources[i%len(sources)], Campaign: "bench-" + f.nonce,
		UTM: benchUTM{Source: "baidu", Medium: "cpc", Campaign: "spring"}}
}

// captureSource makes a captureLead (batch 0) or captureLeads request of new leads per request.
type captureSource struct {
	faker *LeadFaker
	batch int
}

// NewCaptureSource returns a source of captureLead requests (batch 0) or captureLeads requests of
// batch new leads each.
func NewCaptureSource(batch int) Source {
	return &captureSource{faker: NewLeadFaker(), batch: batch}
}

func (c *captureSource) Next() (int, []byte, error) {
	if c.batch == 0 {
		body, err := json.Marshal(map[string]any{"query": CaptureDoc, "variables": map[string]any{"input": c.faker.nextInput()}})
		return 0, body, err
	}
	leads := make([]captureInput, c.batch)
	for i := range leads {
		leads[i] = c.faker.nextInput()
	}
	body, err := json.Marshal(map[string]any{"query": CaptureBatchDoc, "variables": map[string]any{"leads": leads}})
	return 0, body, err
}

func (c *captureSource) Done(int, int, []byte) {}

// checkBatch rejects a captureLeads answer in which any item failed.
func checkBatch(data json.RawMessage) error {
	var d struct {
		CaptureLeads struct {
			Captured, Failed int
			Items            []struct{ Error *struct{ Message string } }
		}
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return err
	}
	if d.CaptureLeads.Failed > 0 {
		for _, it := range d.CaptureLeads.Items {
			if it.Error != nil {
				return fmt.Errorf("%d of %d leads refused, first: %s", d.CaptureLeads.Failed, d.CaptureLeads.Failed+d.CaptureLeads.Captured, it.Error.Message)
			}
		}
	}
	return nil
}

// Forms used by the form-capture scenario. The endpoint limits each client IP per form and each
// form overall (RAPPORT_FORM_PER_MINUTE), so one load generator spreads its posts over many forms.
const (
	benchFormPrefix = "bench form "
	BenchForms      = 40
)

const benchFormsDoc = `{ leadForms { name publicKey active ratePerMinute } }`

const createBenchFormDoc = `mutation($in: CreateLeadFormInput!) { createLeadForm(input: $in) { leadForm { publicKey } } }`

// EnsureBenchForms returns the public keys of the bench's forms, creating the missing ones (active,
// ratePerMinute 10000, every lead field).
func EnsureBenchForms(ctx context.Context, c *Client) ([]string, error) {
	var got struct {
		LeadForms []struct {
			Name, PublicKey string
			Active          bool
			RatePerMinute   int
		}
	}
	if err := c.Query(ctx, benchFormsDoc, nil, &got); err != nil {
		return nil, fmt.Errorf("reading the lead forms: %w", err)
	}
	have := map[string]string{}
	for _, f := range got.LeadForms {
		if f.Active && f.RatePerMinute == 10000 && strings.HasPrefix(f.Name, benchFormPrefix) {
			have[f.Name] = f.PublicKey
		}
	}
	keys := make([]string, 0, BenchForms)
	for i := range BenchForms {
		name := fmt.Sprintf("%s%02d", benchFormPrefix, i)
		if k, ok := have[name]; ok {
			keys = append(keys, k)
			continue
		}
		var out struct {
			CreateLeadForm struct{ LeadForm struct{ PublicKey string } }
		}
		in := map[string]any{"name": name, "ratePerMinute": 10000, "campaign": "bench", "honeypotField": "hp",
			"fields": []string{"name", "title", "company", "email", "phone", "industry", "companySize", "country", "region", "city", "message"}}
		if err := c.Query(ctx, createBenchFormDoc, map[string]any{"in": in}, &out); err != nil {
			return nil, fmt.Errorf("creating the bench form %q: %w", name, err)
		}
		keys = append(keys, out.CreateLeadForm.LeadForm.PublicKey)
	}
	return keys, nil
}

// FormSource posts new leads as JSON to the public form endpoint, round robin over forms.
type FormSource struct {
	faker *LeadFaker
	keys  []string
	n     atomic.Uint64
}

// NewFormSource returns a source posting to the forms with the given public keys.
func NewFormSource(keys []string) (*FormSource, error) {
	if len(keys) == 0 {
		return nil, errors.New("no forms to post to")
	}
	return &FormSource{faker: NewLeadFaker(), keys: keys}, nil
}

// Next returns a submission; the slot names the form it goes to.
func (s *FormSource) Next() (int, []byte, error) {
	slot := int(s.n.Add(1) % uint64(len(s.keys)))
	body, err := json.Marshal(struct {
		FakeLead
		Message   string `json:"message"`
		UTMSource string `json:"utm_source"`
	}{s.faker.Next(), "请尽快联系我，想了解产品报价。", "baidu"})
	return slot, body, err
}

// Done ignores the answer (the bench checks it).
func (s *FormSource) Done(int, int, []byte) {}

// Target returns the path and content type of the request of slot.
func (s *FormSource) Target(slot int) (string, string) {
	return "/forms/" + s.keys[slot], "application/json"
}

// Targeted is a Source whose requests go to another path than /graphql, with their own content
// type and without the bearer token.
type Targeted interface {
	Source
	Target(slot int) (path, contentType string)
}

// CheckFormAnswer accepts a 201 answer of the form endpoint.
func CheckFormAnswer(status int, body []byte) error {
	if status != http.StatusCreated {
		return fmt.Errorf("HTTP %d: %s", status, excerpt(body))
	}
	return nil
}
