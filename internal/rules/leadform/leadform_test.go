package leadform

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
)

func TestOrigin(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{in: "https://www.example.cn", want: "https://www.example.cn", ok: true},
		{in: " HTTPS://WWW.Example.CN/ ", want: "https://www.example.cn", ok: true},
		{in: "https://example.com:443", want: "https://example.com", ok: true},
		{in: "http://example.com:80", want: "http://example.com", ok: true},
		{in: "http://localhost:3000", want: "http://localhost:3000", ok: true},
		{in: "https://例子.cn", want: "https://xn--fsqu00a.cn", ok: true},
		{in: "http://[::1]:8080", want: "http://[::1]:8080", ok: true},
		{in: "*"},
		{in: "null"},
		{in: ""},
		{in: "example.com"},
		{in: "ftp://example.com"},
		{in: "https://example.com/contact"},
		{in: "https://example.com?x=1"},
		{in: "https://example.com#top"},
		{in: "https://user@example.com"},
		{in: "https://"},
		{in: "javascript:alert(1)"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Origin("allowedOrigins[0]", tt.in)
			if !tt.ok {
				require.Error(t, err)
				require.Equal(t, crm.EINVALID, crm.ErrorCode(err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func validForm() crm.LeadForm {
	return crm.LeadForm{Name: "Contact us", Fields: []string{"name", "email", "phone", "company", "custom.budget", "message"},
		RequiredFields: []string{"name"}, AllowedOrigins: []string{"https://www.example.cn"}, HoneypotField: "website_url2",
		AllowPartial: true, RatePerMinute: DefaultRate}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(f *crm.LeadForm)
		field string // "" = valid
	}{
		{name: "valid", edit: func(*crm.LeadForm) {}},
		{name: "no name", edit: func(f *crm.LeadForm) { f.Name = "  " }, field: "name"},
		{name: "no fields", edit: func(f *crm.LeadForm) { f.Fields = nil; f.RequiredFields = nil }, field: "fields"},
		{name: "unknown field", edit: func(f *crm.LeadForm) { f.Fields = append(f.Fields, "salary") }, field: "fields[6]"},
		{name: "bad custom key", edit: func(f *crm.LeadForm) { f.Fields = append(f.Fields, "custom.9x") }, field: "fields[6]"},
		{name: "required not a field", edit: func(f *crm.LeadForm) { f.RequiredFields = []string{"title"} }, field: "requiredFields[0]"},
		{name: "bad origin", edit: func(f *crm.LeadForm) { f.AllowedOrigins = []string{"https://example.cn/form"} }, field: "allowedOrigins[0]"},
		{name: "wildcard origin", edit: func(f *crm.LeadForm) { f.AllowedOrigins = []string{"*"} }, field: "allowedOrigins[0]"},
		{name: "redirect not http", edit: func(f *crm.LeadForm) { f.RedirectURL = "javascript:alert(1)" }, field: "redirectUrl"},
		{name: "redirect relative", edit: func(f *crm.LeadForm) { f.RedirectURL = "/thanks" }, field: "redirectUrl"},
		{name: "redirect https", edit: func(f *crm.LeadForm) { f.RedirectURL = "https://www.example.cn/谢谢" }},
		{name: "honeypot is a field", edit: func(f *crm.LeadForm) { f.HoneypotField = "email" }, field: "honeypotField"},
		{name: "honeypot is reserved", edit: func(f *crm.LeadForm) { f.HoneypotField = "utm_source" }, field: "honeypotField"},
		{name: "honeypot unusable", edit: func(f *crm.LeadForm) { f.HoneypotField = "a b" }, field: "honeypotField"},
		{name: "unknown source", edit: func(f *crm.LeadForm) { f.Source = "carrier_pigeon" }, field: "source"},
		{name: "rate too high", edit: func(f *crm.LeadForm) { f.RatePerMinute = 10001 }, field: "ratePerMinute"},
		{name: "rate negative", edit: func(f *crm.LeadForm) { f.RatePerMinute = -1 }, field: "ratePerMinute"},
		{name: "rate zero", edit: func(f *crm.LeadForm) { f.RatePerMinute = 0 }, field: "ratePerMinute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := validForm()
			tt.edit(&f)
			err := Normalize(&f)
			if tt.field == "" {
				require.NoError(t, err)
				return
			}
			var e *crm.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, crm.EINVALID, e.Code)
			require.Equal(t, tt.field, e.Field)
		})
	}
}

func TestNormalizeFillsDefaultsAndDeduplicates(t *testing.T) {
	f := crm.LeadForm{Name: " 联系我们 ", Fields: []string{"email", " email", "name"}, RequiredFields: []string{"email", "email"},
		AllowedOrigins: []string{"https://A.example", "https://a.example:443"}, RatePerMinute: DefaultRate}
	require.NoError(t, Normalize(&f))
	require.Equal(t, "联系我们", f.Name)
	require.Equal(t, []string{"email", "name"}, f.Fields)
	require.Equal(t, []string{"email"}, f.RequiredFields)
	require.Equal(t, []string{"https://a.example"}, f.AllowedOrigins)
	require.Equal(t, crm.SourceWebForm, f.Source)
	require.Equal(t, int32(DefaultRate), f.RatePerMinute)
}

func TestAllowsOrigin(t *testing.T) {
	f := validForm()
	require.NoError(t, Normalize(&f))
	require.True(t, AllowsOrigin(f, ""), "no Origin: server to server")
	require.True(t, AllowsOrigin(f, "https://www.example.cn"))
	require.True(t, AllowsOrigin(f, "https://WWW.example.cn:443"))
	require.False(t, AllowsOrigin(f, "http://www.example.cn"))
	require.False(t, AllowsOrigin(f, "https://evil.example"))
	require.False(t, AllowsOrigin(f, "null"))
	require.False(t, AllowsOrigin(crm.LeadForm{}, "https://www.example.cn"), "no origins: browsers may not post")
}

func TestRead(t *testing.T) {
	f := validForm()
	f.Fields = append(f.Fields, "companySize")
	require.NoError(t, Normalize(&f))
	sub, problems := Read(f, map[string]string{
		"name": "  张伟 ", "email": "ZW@Example.cn", "company": "", "custom.budget": "500k", "message": "请联系我",
		"companySize": "1,200", "title": "CEO", "secret": "x", "visitorId": "v-1",
		"utm_source": "baidu", "utm_medium": "cpc",
	}, "https://www.example.cn/contact?utm_source=ignored")
	require.Empty(t, problems)
	require.Equal(t, map[string]string{"name": "张伟", "email": "ZW@Example.cn"}, sub.Values, "title is not a field of the form")
	require.Equal(t, map[string]string{"budget": "500k"}, sub.Custom)
	require.Equal(t, "请联系我", sub.Message)
	require.Equal(t, int32(1200), *sub.CompanySize)
	require.Equal(t, crm.UTM{Source: "baidu", Medium: "cpc"}, sub.UTM, "the body's UTM wins, never mixed")
	require.Equal(t, "v-1", sub.VisitorID)
	require.False(t, sub.Spam)
}

func TestReadUTMFromPageURLThenReferrer(t *testing.T) {
	f := validForm()
	sub, _ := Read(f, map[string]string{"name": "a", "pageUrl": "https://www.example.cn/p?utm_campaign=spring&utm_source=wechat"},
		"https://www.example.cn/?utm_source=ref")
	require.Equal(t, crm.UTM{Source: "wechat", Campaign: "spring"}, sub.UTM)
	sub, _ = Read(f, map[string]string{"name": "a"}, "https://www.example.cn/?utm_source=ref&utm_term=crm")
	require.Equal(t, crm.UTM{Source: "ref", Term: "crm"}, sub.UTM)
	sub, _ = Read(f, map[string]string{"name": "a"}, "::not a url")
	require.Equal(t, crm.UTM{}, sub.UTM)
}

func TestReadRefusesMissingRequiredAndBadSizeWithoutPartial(t *testing.T) {
	f := validForm()
	f.Fields = append(f.Fields, "companySize")
	f.RequiredFields = []string{"name", "email"}
	f.AllowPartial = false
	_, problems := Read(f, map[string]string{"name": " ", "companySize": "lots"}, "")
	require.Equal(t, []Problem{
		{Field: "name", Reason: "This field is required."},
		{Field: "email", Reason: "This field is required."},
		{Field: "companySize", Reason: "Send the number of employees as a whole number, e.g. 250."},
	}, problems)

	f.AllowPartial = true
	sub, problems := Read(f, map[string]string{"name": "a", "email": "a@b.cn", "companySize": "lots"}, "")
	require.Empty(t, problems)
	require.Nil(t, sub.CompanySize)
	require.Equal(t, []Problem{{Field: "companySize", Reason: "Send the number of employees as a whole number, e.g. 250."}}, sub.Warnings)
}

func TestReadHoneypot(t *testing.T) {
	f := validForm()
	sub, problems := Read(f, map[string]string{"name": "bot", "website_url2": "http://spam"}, "")
	require.Empty(t, problems)
	require.True(t, sub.Spam)
	sub, _ = Read(f, map[string]string{"name": "person", "website_url2": "  "}, "")
	require.False(t, sub.Spam)
}

func TestReadTruncatesLongUTMOnRuneBoundary(t *testing.T) {
	long := ""
	for range 150 {
		long += "中"
	}
	sub, _ := Read(validForm(), map[string]string{"utm_campaign": long}, "")
	require.LessOrEqual(t, len(sub.UTM.Campaign), 200)
	require.Equal(t, 66, len([]rune(sub.UTM.Campaign)))
}

func BenchmarkRead(b *testing.B) {
	f := validForm()
	_ = Normalize(&f)
	values := map[string]string{"name": "张伟", "email": "zw@example.cn", "phone": "13800138000", "company": "上海某某科技有限公司",
		"custom.budget": "500k", "message": "请尽快联系我", "utm_source": "baidu"}
	b.ReportAllocs()
	for b.Loop() {
		Read(f, values, "https://www.example.cn/contact")
	}
}
