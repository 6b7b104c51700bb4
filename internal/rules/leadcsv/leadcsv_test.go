package leadcsv

import (
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/rapportcrm/rapport/internal/crm"
)

func gbk(t testing.TB, s string) []byte {
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	require.NoError(t, err)
	return b
}

func utf16Bytes(s string, bigEndian bool) []byte {
	out := []byte{0xFF, 0xFE}
	if bigEndian {
		out = []byte{0xFE, 0xFF}
	}
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			out = append(out, byte(u>>8), byte(u))
		} else {
			out = append(out, byte(u), byte(u>>8))
		}
	}
	return out
}

func latin1(t testing.TB, s string) []byte {
	b, err := charmap.ISO8859_1.NewEncoder().Bytes([]byte(s))
	require.NoError(t, err)
	return b
}

func TestSnifferDetectsTheEncoding(t *testing.T) {
	t.Parallel()
	const chinese = "姓名,公司\n张伟,北京科技有限公司\n"
	tests := []struct {
		name string
		data []byte
		want Encoding
		err  string
	}{
		{name: "ASCII", data: []byte("name,email\nWei,wei@example.com\n"), want: UTF8},
		{name: "UTF-8 Chinese", data: []byte(chinese), want: UTF8},
		{name: "UTF-8 with BOM", data: append([]byte{0xEF, 0xBB, 0xBF}, chinese...), want: UTF8},
		{name: "UTF-16LE with BOM", data: utf16Bytes(chinese, false), want: UTF16LE},
		{name: "UTF-16BE with BOM", data: utf16Bytes(chinese, true), want: UTF16BE},
		{name: "GBK", data: gbk(t, "张伟,北京科技有限公司"), want: GB18030},
		{name: "GBK file with header", data: gbk(t, chinese+"李娜,上海贸易有限公司,李娜@example.com\n"), want: GB18030},
		{name: "Latin-1", data: latin1(t, "name,company\nJürgen Müller,Société Générale\n"), err: "Windows-1252 or Latin-1"},
		{name: "Latin-1 that parses as GB18030", data: latin1(t, "name\nMüller\n"), err: "mostly rare characters"},
		{name: "UTF-8 BOM then GBK", data: append([]byte{0xEF, 0xBB, 0xBF}, gbk(t, chinese)...), err: "mixes encodings"},
		{name: "UTF-16 without BOM", data: utf16Bytes(chinese, false)[2:], err: "NUL bytes"},
		{name: "cut-off UTF-16", data: utf16Bytes(chinese, false)[:9], err: "odd number of bytes"},
		{name: "empty", data: nil, err: "empty"},
		{name: "UTF-8 cut in a character", data: []byte(chinese)[:len(chinese)-2], err: "byte 42 is not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Whole, and fed one byte at a time: pieces never change the answer.
			for _, piece := range []int{len(tt.data) + 1, 1, 2, 3} {
				var s Sniffer
				for i := 0; i < len(tt.data); i += piece {
					_, _ = s.Write(tt.data[i:min(i+piece, len(tt.data))])
				}
				got, err := s.Encoding()
				if tt.err != "" {
					require.ErrorContains(t, err, tt.err, "piece %d", piece)
					require.Equal(t, crm.EINVALID, crm.ErrorCode(err))
					if len(tt.data) > 0 {
						require.Contains(t, crm.ErrorMessage(err), "CSV UTF-8")
					}
					continue
				}
				require.NoError(t, err, "piece %d", piece)
				require.Equal(t, tt.want, got, "piece %d", piece)
			}
		})
	}
}

func TestSnifferFindsALateInvalidByte(t *testing.T) {
	t.Parallel()
	var s Sniffer
	good := strings.Repeat("张伟,wei@example.com\n", 1000)
	_, _ = s.Write([]byte(good))
	_, _ = s.Write(latin1(t, "Müller,x\n"))
	_, err := s.Encoding()
	require.ErrorContains(t, err, "byte")
	require.Contains(t, err.Error(), "not UTF-8 (byte 23001)")
}

func TestDetectDelimiter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, sample string
		want         rune
	}{
		{name: "comma", sample: "name,email\na,b\n", want: ','},
		{name: "semicolon (European Excel)", sample: "name;email;company\nWei;w@x.cn;\"A, B\"\n", want: ';'},
		{name: "tab", sample: "name\temail\nWei\tw@x.cn\n", want: '\t'},
		{name: "commas only inside quotes", sample: "\"name, full\";email\n\"Zhang, Wei\";w@x.cn\n", want: ';'},
		{name: "one column", sample: "email\nw@x.cn\n", want: ','},
		{name: "header only, no line break", sample: "name;email", want: ';'},
		{name: "empty", sample: "", want: ','},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, string(tt.want), string(DetectDelimiter(tt.sample)))
		})
	}
}

func TestSuggestMappingReadsChineseAndEnglishHeaders(t *testing.T) {
	t.Parallel()
	headers := []string{"姓名", "单位", "电子邮件", "手机号", "职务", "行业", "省份", "城市", "国家", "网站",
		"统一社会信用代码", "公司规模", "来源", "活动", "utm_source", "UTM Medium", "custom.budget", "备注", "电话"}
	got := SuggestMapping(headers)
	require.Equal(t, map[string]string{
		"姓名": FieldName, "单位": FieldCompany, "电子邮件": FieldEmail, "手机号": FieldPhone, "职务": FieldTitle,
		"行业": FieldIndustry, "省份": FieldRegion, "城市": FieldCity, "国家": FieldCountry, "网站": FieldWebsite,
		"统一社会信用代码": FieldRegistrationCode, "公司规模": FieldCompanySize, "来源": FieldSource, "活动": FieldCampaign,
		"utm_source": FieldUTMSource, "UTM Medium": FieldUTMMedium, "custom.budget": "custom.budget",
		"备注": Ignore, // unknown
		"电话": Ignore, // a second phone column
	}, got)

	en := SuggestMapping([]string{"Full Name", "E-mail", "Mobile Phone", "Company Name", "Job Title", "ＥＭＡＩＬ"})
	require.Equal(t, map[string]string{"Full Name": FieldName, "E-mail": FieldEmail, "Mobile Phone": FieldPhone,
		"Company Name": FieldCompany, "Job Title": FieldTitle, "ＥＭＡＩＬ": Ignore}, en)
}

func TestNewColumns(t *testing.T) {
	t.Parallel()
	headers := []string{"名字", "公司", "邮箱", "备注"}
	tests := []struct {
		name    string
		headers []string
		mapping map[string]string
		want    []string
		err     string
	}{
		{name: "suggested", headers: headers, want: []string{FieldName, FieldCompany, FieldEmail, Ignore}},
		{name: "explicit", headers: headers, mapping: map[string]string{"名字": "name", "备注": "custom.note"},
			want: []string{FieldName, Ignore, Ignore, "custom.note"}},
		{name: "no identifying column", headers: []string{"公司", "行业"}, err: "No column holds a name, an e-mail or a phone number"},
		{name: "explicit mapping without one", headers: headers, mapping: map[string]string{"公司": "company"}, err: "No column holds"},
		{name: "unknown column", headers: headers, mapping: map[string]string{"Email": "email"}, err: `the column "Email", which the file does not have`},
		{name: "unknown field", headers: headers, mapping: map[string]string{"邮箱": "mail"}, err: `"mail", which is not a lead field`},
		{name: "field twice", headers: headers, mapping: map[string]string{"邮箱": "email", "备注": "email"}, err: "are both mapped to email"},
		{name: "skip a column", headers: headers, mapping: map[string]string{"邮箱": "email", "Unknown": ""}, want: []string{Ignore, Ignore, FieldEmail, Ignore}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewColumns(tt.headers, tt.mapping)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				require.Equal(t, "mapping", err.(*crm.Error).Field)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, c.Targets)
		})
	}
}

func TestParseReportsEveryBadFieldAndKeepsTheRest(t *testing.T) {
	t.Parallel()
	c, err := NewColumns([]string{"姓名", "邮箱", "手机", "公司规模", "国家", "来源", "custom.budget", "姓", "名"}, nil)
	require.NoError(t, err)
	tests := []struct {
		name     string
		record   []string
		want     Lead
		problems []string // "field: part of reason"
		fail     bool
	}{
		{name: "good Chinese row", record: []string{" 张伟 ", "Zhang.Wei@Example.COM", "138 0013 8000", "300人", "中国", "Event", "10万"},
			want: Lead{Name: "张伟", Email: "zhang.wei@example.com", Phone: "+8613800138000", CompanySize: ptr(int32(300)),
				Country: "CN", Source: crm.SourceEvent, Custom: map[string]string{"budget": "10万"}}},
		{name: "bad e-mail kept as partial", record: []string{"Li Na", "li.na@", "", "", "", "", ""},
			want: Lead{Name: "Li Na"}, problems: []string{"email: li.na@"}},
		{name: "bad phone and size", record: []string{"", "a@b.cn", "12", "many", "Narnia", "fax", ""},
			want: Lead{Email: "a@b.cn"}, problems: []string{"phone: not a valid phone number", "companySize: not a number of employees",
				"country: not an ISO 3166-1", "source: not a lead source"}},
		{name: "nothing identifies the lead", record: []string{"", "not-an-email", "", "", "", "", ""},
			problems: []string{"email: ", ": no name and no valid e-mail or phone left"}, fail: true},
		{name: "empty identity", record: []string{"", "", "", "50", "", "", ""},
			want: Lead{CompanySize: ptr(int32(50))}, problems: []string{": no name, e-mail or phone"}, fail: true},
		{name: "first and last name", record: []string{"", "", "+49 30 123456", "", "", "", "", "王", "小明"},
			want: Lead{Name: "王小明", Phone: "+4930123456"}},
		{name: "short record", record: []string{"Ana"}, want: Lead{Name: "Ana"}},
		{name: "control character in a name", record: []string{"A\x01B", "x@y.cn"}, want: Lead{Email: "x@y.cn"}, problems: []string{"name: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, problems, ok := c.Parse(tt.record, 7, "CN")
			require.Equal(t, !tt.fail, ok)
			require.Len(t, problems, len(tt.problems), "%v", problems)
			for i, p := range tt.problems {
				field, reason, _ := strings.Cut(p, ": ")
				require.Equal(t, 7, problems[i].Line)
				require.Equal(t, field, problems[i].Field)
				require.Contains(t, problems[i].Reason, reason)
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestCompanySize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int32{"250": 250, "1,200": 1200, "500+": 500, "300人": 300, "50-200": 50, "10~50": 10, " 0 ": 0} {
		got, err := CompanySize("companySize", in)
		require.NoError(t, err, in)
		require.Equal(t, want, *got, in)
	}
	for _, in := range []string{"-5", "many", "1.5", "99999999999"} {
		_, err := CompanySize("companySize", in)
		require.Error(t, err, in)
	}
}

func TestBlank(t *testing.T) {
	t.Parallel()
	require.True(t, Blank([]string{"", " ", "\t"}))
	require.True(t, Blank(nil))
	require.False(t, Blank([]string{"", "x"}))
}

func ptr[T any](v T) *T { return &v }

func BenchmarkParse(b *testing.B) {
	c, err := NewColumns([]string{"姓名", "公司", "邮箱", "手机", "职位", "城市"}, nil)
	require.NoError(b, err)
	rec := []string{"张伟", "北京科技有限公司", "zhang.wei@example.com", "13800138000", "销售总监", "北京"}
	b.ReportAllocs()
	for b.Loop() {
		_, _, _ = c.Parse(rec, 2, "CN")
	}
}

func BenchmarkSniffer(b *testing.B) {
	data := []byte(strings.Repeat("张伟,北京科技有限公司,zhang.wei@example.com,13800138000\n", 20000))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var s Sniffer
		for i := 0; i < len(data); i += 1 << 16 {
			_, _ = s.Write(data[i:min(i+1<<16, len(data))])
		}
		if _, err := s.Encoding(); err != nil {
			b.Fatal(err)
		}
	}
}
