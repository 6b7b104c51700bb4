package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/db"
)

const leadFormFields = `id publicKey submitPath name fields requiredFields allowedOrigins source campaign redirectUrl
  honeypotField allowPartial ratePerMinute active version`

const createLeadForm = `mutation($in: CreateLeadFormInput!) { createLeadForm(input: $in) { leadForm { ` + leadFormFields + ` } } }`

// createForm creates a form as the admin and returns it.
func (s *server) createForm(in map[string]any) map[string]any {
	s.t.Helper()
	base := map[string]any{"name": "Contact us", "fields": []string{"name", "email", "phone", "company", "message", "custom.budget"},
		"requiredFields": []string{"name"}, "allowedOrigins": []string{"https://www.example.cn"}, "campaign": "spring-2026",
		"honeypotField": "website_url2"}
	for k, v := range in {
		base[k] = v
	}
	r := s.do("admin", createLeadForm, map[string]any{"in": base})
	require.Empty(s.t, r.Errors)
	return dig(r.Data, "createLeadForm", "leadForm").(map[string]any)
}

// formResponse is an answer of POST /forms/{key}.
type formResponse struct {
	Status int
	Header http.Header
	Body   struct {
		OK      bool   `json:"ok"`
		Outcome string `json:"outcome"`
		Message string `json:"message"`
		Errors  []struct {
			Field  string `json:"field"`
			Reason string `json:"reason"`
		} `json:"errors"`
	}
}

// post sends a request to the form endpoint without following redirects.
func (s *server) post(method, key, contentType, body string, header map[string]string) formResponse {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+"/forms/"+key, strings.NewReader(body))
	require.NoError(s.t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := formResponse{Status: resp.StatusCode, Header: resp.Header}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		require.NoError(s.t, json.Unmarshal(raw, &out.Body), "body: %s", raw)
	}
	return out
}

// stored counts the leads and touches in the database that did not come from a form of the demo
// seed or earlier: those of forms created by the test (the seed's leads have no form).
func (s *server) stored() (leads, touches int) {
	s.t.Helper()
	err := db.AsSystem(context.Background(), s.pool, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT
			(SELECT count(DISTINCT lead_id) FROM lead_touches WHERE form_id IN (SELECT id FROM lead_forms)),
			(SELECT count(*) FROM lead_touches WHERE form_id IN (SELECT id FROM lead_forms))`).Scan(&leads, &touches)
	})
	require.NoError(s.t, err)
	return leads, touches
}

func TestLeadFormCRUD(t *testing.T) {
	s := newServer(t)
	f := s.createForm(map[string]any{"allowedOrigins": []string{"https://WWW.Example.cn:443/", "https://例子.cn"},
		"redirectUrl": "https://www.example.cn/谢谢"})
	key := f["publicKey"].(string)
	raw, err := base64.RawURLEncoding.DecodeString(key)
	require.NoError(t, err, "the key is base64url")
	require.Len(t, raw, 24, "192 random bits")
	require.Equal(t, "/forms/"+key, f["submitPath"])
	require.Equal(t, []any{"https://www.example.cn", "https://xn--fsqu00a.cn"}, f["allowedOrigins"])
	require.Equal(t, "WEB_FORM", f["source"])
	require.Equal(t, true, f["allowPartial"])
	require.Equal(t, float64(10), f["ratePerMinute"])
	id := f["id"].(string)

	list := s.do("manager", `{ leadForms { id name } }`, nil)
	require.Empty(t, list.Errors)
	require.Equal(t, id, dig(list.Data, "leadForms", 0, "id"))
	one := s.do("rep1", `query($id: ID!) { leadForm(id: $id) { name } node(id: $id) { ... on LeadForm { publicKey } } }`, map[string]any{"id": id})
	require.Empty(t, one.Errors)
	require.Equal(t, "Contact us", dig(one.Data, "leadForm", "name"))
	require.Equal(t, key, dig(one.Data, "node", "publicKey"))

	update := `mutation($in: UpdateLeadFormInput!) { updateLeadForm(input: $in) { leadForm { name active ratePerMinute version } } }`
	r := s.do("manager", update, map[string]any{"in": map[string]any{"id": id, "expectedVersion": 1, "name": "联系我们", "active": false, "ratePerMinute": 30}})
	require.Empty(t, r.Errors)
	require.Equal(t, map[string]any{"name": "联系我们", "active": false, "ratePerMinute": float64(30), "version": float64(2)}, dig(r.Data, "updateLeadForm", "leadForm"))
	r = s.do("manager", update, map[string]any{"in": map[string]any{"id": id, "expectedVersion": 1, "name": "stale"}})
	require.Equal(t, "CONFLICT", r.code())
	require.Equal(t, float64(2), r.Errors[0].Extensions["currentVersion"])

	r = s.do("rep1", update, map[string]any{"in": map[string]any{"id": id, "expectedVersion": 2, "active": true}})
	require.Equal(t, "FORBIDDEN", r.code(), "reps capture leads but do not open forms")
	r = s.do("rep1", createLeadForm, map[string]any{"in": map[string]any{"name": "x", "fields": []string{"email"}}})
	require.Equal(t, "FORBIDDEN", r.code())

	rot := s.do("admin", `mutation($id: ID!) { rotateLeadFormKey(id: $id, expectedVersion: 2) { leadForm { publicKey version } } }`, map[string]any{"id": id})
	require.Empty(t, rot.Errors)
	newKey := dig(rot.Data, "rotateLeadFormKey", "leadForm", "publicKey").(string)
	require.NotEqual(t, key, newKey)
	require.Equal(t, http.StatusNotFound, s.post(http.MethodPost, key, "application/json", `{"name":"a"}`, nil).Status, "the old key is retired")

	del := s.do("admin", `mutation($id: ID!) { deleteLeadForm(id: $id, expectedVersion: 3) { leadForm { id } } }`, map[string]any{"id": id})
	require.Empty(t, del.Errors)
	list = s.do("admin", `{ leadForms { id } }`, nil)
	require.Empty(t, dig(list.Data, "leadForms"))
	require.Equal(t, http.StatusNotFound, s.post(http.MethodPost, newKey, "application/json", `{"name":"a"}`, nil).Status)
}

func TestLeadFormRejectsBadDefinitions(t *testing.T) {
	s := newServer(t)
	for name, tc := range map[string]struct {
		in    map[string]any
		field string
	}{
		"javascript redirect":    {map[string]any{"redirectUrl": "javascript:alert(1)"}, "redirectUrl"},
		"relative redirect":      {map[string]any{"redirectUrl": "/thanks"}, "redirectUrl"},
		"origin with a path":     {map[string]any{"allowedOrigins": []string{"https://www.example.cn/contact"}}, "allowedOrigins[0]"},
		"wildcard origin":        {map[string]any{"allowedOrigins": []string{"*"}}, "allowedOrigins[0]"},
		"unknown field":          {map[string]any{"fields": []string{"name", "salary"}}, "fields[1]"},
		"required not a field":   {map[string]any{"requiredFields": []string{"title"}}, "requiredFields[0]"},
		"honeypot is a field":    {map[string]any{"honeypotField": "email"}, "honeypotField"},
		"rate out of range":      {map[string]any{"ratePerMinute": 0}, "ratePerMinute"},
		"rate above the maximum": {map[string]any{"ratePerMinute": 10001}, "ratePerMinute"},
	} {
		base := map[string]any{"name": "Contact us", "fields": []string{"name", "email"}, "requiredFields": []string{"name"}}
		for k, v := range tc.in {
			base[k] = v
		}
		r := s.do("admin", createLeadForm, map[string]any{"in": base})
		require.Equal(t, "BAD_USER_INPUT", r.code(), name)
		require.Equal(t, tc.field, r.Errors[0].Extensions["field"], name)
	}
}

func TestFormEndpointRefusalsStoreNothing(t *testing.T) {
	s := newServer(t)
	f := s.createForm(map[string]any{"allowPartial": false, "requiredFields": []string{"name", "email"}})
	key := f["publicKey"].(string)
	const jsonType, formType = "application/json", "application/x-www-form-urlencoded"

	r := s.post(http.MethodPost, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", jsonType, `{"name":"a","email":"a@example.cn"}`, nil)
	require.Equal(t, http.StatusNotFound, r.Status)
	require.Equal(t, http.StatusNotFound, s.post(http.MethodPost, "short", jsonType, `{}`, nil).Status)

	r = s.post(http.MethodPost, key, jsonType, `{"name":"a","email":"a@example.cn"}`, map[string]string{"Origin": "https://evil.example"})
	require.Equal(t, http.StatusForbidden, r.Status)
	require.Empty(t, r.Header.Get("Access-Control-Allow-Origin"))

	r = s.post(http.MethodPost, key, "text/plain", `name=a`, nil)
	require.Equal(t, http.StatusUnsupportedMediaType, r.Status)
	r = s.post(http.MethodPost, key, "multipart/form-data; boundary=x", `--x--`, nil)
	require.Equal(t, http.StatusUnsupportedMediaType, r.Status)

	big := url.Values{"name": {"a"}, "email": {"a@example.cn"}, "message": {strings.Repeat("长", 6000)}}.Encode()
	r = s.post(http.MethodPost, key, formType, big, nil)
	require.Equal(t, http.StatusRequestEntityTooLarge, r.Status)

	r = s.post(http.MethodPost, key, formType, url.Values{"name": {"张伟"}, "company": {"上海某某科技"}}.Encode(),
		map[string]string{"Origin": "https://www.example.cn"})
	require.Equal(t, http.StatusUnprocessableEntity, r.Status)
	require.Equal(t, "https://www.example.cn", r.Header.Get("Access-Control-Allow-Origin"), "the page may read why")
	require.False(t, r.Body.OK)
	require.Len(t, r.Body.Errors, 1)
	require.Equal(t, "email", r.Body.Errors[0].Field)

	r = s.post(http.MethodPost, key, jsonType, `["not", "an", "object"]`, nil)
	require.Equal(t, http.StatusUnprocessableEntity, r.Status)
	r = s.post(http.MethodPost, key, formType, "name=%D5%C5%CE%B0&email=a%40example.cn", nil) // 张伟 in GBK
	require.Equal(t, http.StatusUnprocessableEntity, r.Status)
	require.Contains(t, r.Body.Errors[0].Reason, "UTF-8")

	r = s.post(http.MethodGet, key, "", "", nil)
	require.Equal(t, http.StatusMethodNotAllowed, r.Status)

	leads, touches := s.stored()
	require.Zero(t, leads)
	require.Zero(t, touches)
}

func TestFormPreflightAnswersTheFormsOriginsOnly(t *testing.T) {
	s := newServer(t)
	key := s.createForm(nil)["publicKey"].(string)
	ask := func(origin string) formResponse {
		return s.post(http.MethodOptions, key, "", "", map[string]string{"Origin": origin,
			"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
	}
	r := ask("https://www.example.cn")
	require.Equal(t, http.StatusNoContent, r.Status)
	require.Equal(t, "https://www.example.cn", r.Header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, "POST", r.Header.Get("Access-Control-Allow-Methods"))
	require.Contains(t, r.Header.Get("Access-Control-Allow-Headers"), "Content-Type")
	require.Contains(t, r.Header.Values("Vary"), "Origin")

	r = ask("https://evil.example")
	require.Equal(t, http.StatusForbidden, r.Status)
	require.Empty(t, r.Header.Get("Access-Control-Allow-Origin"))

	r = s.post(http.MethodOptions, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "", "", map[string]string{"Origin": "https://www.example.cn"})
	require.Equal(t, http.StatusNotFound, r.Status)
	require.Empty(t, r.Header.Get("Access-Control-Allow-Origin"))
}

func TestFormRateLimitPerClient(t *testing.T) {
	s := newServer(t)
	// Every submission misses the required name: refused with 422 after the rate check, so the
	// test needs no lead capture and the limit still counts them.
	key := s.createForm(map[string]any{"ratePerMinute": 3})["publicKey"].(string)
	for i := range 3 {
		r := s.post(http.MethodPost, key, "application/json", `{"email":"a@example.cn"}`, nil)
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, "submission %d", i+1)
	}
	r := s.post(http.MethodPost, key, "application/json", `{"name":"a","email":"a@example.cn"}`, nil)
	require.Equal(t, http.StatusTooManyRequests, r.Status)
	require.NotEmpty(t, r.Header.Get("Retry-After"))
	leads, _ := s.stored()
	require.Zero(t, leads)

	other := s.createForm(map[string]any{"ratePerMinute": 3})["publicKey"].(string)
	require.Equal(t, http.StatusUnprocessableEntity, s.post(http.MethodPost, other, "application/json", `{}`, nil).Status,
		"the limit is per form")
}

// storedLead is a lead as the database holds it, with its touches' raw payloads.
type storedLead struct {
	Name, Email, Phone, Source, Campaign string
	UTM                                  map[string]string
	Custom                               map[string]any
	Spam                                 bool
	TouchCount                           int
	Payloads                             []map[string]any
	FormIDs                              int
}

func (s *server) leadByEmail(email string) storedLead {
	s.t.Helper()
	var l storedLead
	ctx := context.Background()
	err := db.AsSystem(ctx, s.pool, func(tx pgx.Tx) error {
		var utm, custom []byte
		var id any
		if err := tx.QueryRow(ctx, `SELECT id, name, coalesce(email, ''), coalesce(phone, ''), source, campaign, utm, custom, spam, touch_count
			FROM leads WHERE email = $1`, email).Scan(&id, &l.Name, &l.Email, &l.Phone, &l.Source, &l.Campaign, &utm, &custom, &l.Spam, &l.TouchCount); err != nil {
			return err
		}
		_ = json.Unmarshal(utm, &l.UTM)
		_ = json.Unmarshal(custom, &l.Custom)
		rows, err := tx.Query(ctx, `SELECT payload, form_id IS NOT NULL FROM lead_touches WHERE lead_id = $1 ORDER BY received_at, id`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var raw []byte
			var hasForm bool
			if err := rows.Scan(&raw, &hasForm); err != nil {
				return err
			}
			var p map[string]any
			_ = json.Unmarshal(raw, &p)
			l.Payloads = append(l.Payloads, p)
			if hasForm {
				l.FormIDs++
			}
		}
		return rows.Err()
	})
	require.NoError(s.t, err)
	return l
}

func TestFormCapturesURLEncodedAndJSON(t *testing.T) {
	s := newServer(t)
	f := s.createForm(map[string]any{"redirectUrl": "https://www.example.cn/thanks", "source": "ADVERTISING"})
	key := f["publicKey"].(string)

	// A browser posts the page's form: 303 to the thank-you page.
	body := url.Values{"name": {" 张伟 "}, "email": {"ZhangWei@Example.CN"}, "phone": {"150 2100 7788"}, "company": {"上海某某科技有限公司"},
		"custom.budget": {"50万"}, "message": {"请尽快联系我"}, "title": {"not a field of this form"}, "tag": {"a", "b"},
		"website_url2": {""}}.Encode()
	r := s.post(http.MethodPost, key, "application/x-www-form-urlencoded", body, map[string]string{
		"Origin": "https://www.example.cn", "Referer": "https://www.example.cn/contact?utm_source=baidu&utm_medium=cpc&utm_campaign=brand"})
	require.Equal(t, http.StatusSeeOther, r.Status)
	require.Equal(t, "https://www.example.cn/thanks", r.Header.Get("Location"))
	require.Equal(t, "https://www.example.cn", r.Header.Get("Access-Control-Allow-Origin"))

	l := s.leadByEmail("zhangwei@example.cn")
	require.Equal(t, "张伟", l.Name, "Chinese name intact, trimmed")
	require.Equal(t, "+8615021007788", l.Phone)
	require.Equal(t, "advertising", l.Source)
	require.Equal(t, "spring-2026", l.Campaign, "the form's campaign")
	require.Equal(t, map[string]string{"source": "baidu", "medium": "cpc", "campaign": "brand"}, l.UTM, "UTM from the referrer")
	require.Equal(t, map[string]any{"budget": "50万"}, l.Custom)
	require.False(t, l.Spam)
	require.Len(t, l.Payloads, 1)
	require.Equal(t, 1, l.FormIDs)
	p := l.Payloads[0]
	require.Equal(t, "not a field of this form", p["title"], "ignored fields are kept in the raw payload")
	require.Equal(t, []any{"a", "b"}, p["tag"])
	require.Equal(t, "请尽快联系我", p["message"])

	// A script posts JSON from a server (no Origin): 201, and the same person is a touch, not a second lead.
	r = s.post(http.MethodPost, key, "application/json",
		`{"name":"张伟","email":"zhangwei@example.cn","utm_source":"wechat","custom":{"budget":100},"extra":{"nested":true}}`, nil)
	require.Equal(t, http.StatusCreated, r.Status)
	require.True(t, r.Body.OK)
	require.Equal(t, "received", r.Body.Outcome, "the public answer never says whether the person was known")
	require.Empty(t, r.Body.Errors)
	l = s.leadByEmail("zhangwei@example.cn")
	require.Equal(t, 2, l.TouchCount)
	require.Len(t, l.Payloads, 2)
	require.Equal(t, map[string]any{"nested": true}, l.Payloads[1]["extra"])
	leads, touches := s.stored()
	require.Equal(t, 1, leads)
	require.Equal(t, 2, touches)
}

func TestFormInvalidEmailWarnsOrRefusesByPartial(t *testing.T) {
	s := newServer(t)
	partial := s.createForm(nil)["publicKey"].(string)
	r := s.post(http.MethodPost, partial, "application/json", `{"name":"李娜","email":"not-an-email","phone":"13900139000"}`, nil)
	require.Equal(t, http.StatusCreated, r.Status)
	require.Len(t, r.Body.Errors, 1)
	require.Equal(t, "email", r.Body.Errors[0].Field)
	leads, _ := s.stored()
	require.Equal(t, 1, leads)

	strict := s.createForm(map[string]any{"allowPartial": false})["publicKey"].(string)
	r = s.post(http.MethodPost, strict, "application/json", `{"name":"王芳","email":"not-an-email"}`, nil)
	require.Equal(t, http.StatusUnprocessableEntity, r.Status)
	require.Equal(t, "email", r.Body.Errors[0].Field)
	leads, _ = s.stored()
	require.Equal(t, 1, leads, "nothing stored")
}

func TestFormHoneypotAnswersLikeSuccessAndStoresSpam(t *testing.T) {
	s := newServer(t)
	key := s.createForm(nil)["publicKey"].(string)
	real := s.post(http.MethodPost, key, "application/json", `{"name":"Real Person","email":"real@example.cn"}`, nil)
	bot := s.post(http.MethodPost, key, "application/json", `{"name":"Bot","email":"bot@example.cn","website_url2":"http://spam.example"}`, nil)
	require.Equal(t, real.Status, bot.Status)
	require.Equal(t, real.Body, bot.Body)
	l := s.leadByEmail("bot@example.cn")
	require.True(t, l.Spam)
	require.False(t, s.leadByEmail("real@example.cn").Spam)

	empty := s.post(http.MethodPost, key, "application/json", `{"website_url2":"x"}`, nil)
	require.Equal(t, real.Status, empty.Status, "even unstorable junk gets the success answer")
}
