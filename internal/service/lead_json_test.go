package service

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
)

// The hand-written encoders write what json.Marshal writes, for every field: the fields are filled
// by reflection, so a field added to LeadInput, crm.Lead or crm.UTM and not to its encoder fails
// here.
func TestLeadJSONIsWhatJSONMarshalWrites(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	variants := []struct {
		name   string
		str    string
		num    int64
		at     time.Time
		custom json.RawMessage
	}{
		{"plain", "plain text", 42, time.Date(2026, 11, 23, 19, 0, 0, 123456000, time.UTC), json.RawMessage(`{}`)},
		{"CJK", "上海云启科技有限公司 王小明", 0, time.Date(2026, 1, 2, 3, 4, 5, 0, shanghai), json.RawMessage(`{"行业": "制造"}`)},
		{"escapes", "a\"b\\c<d>&e\u2028f\u2029g\x00h\x1fi\tj\nk\x7f", -7, time.Date(1999, 12, 31, 23, 59, 59, 999999999, shanghai),
			json.RawMessage(` { "a" : [1, 2], "html": "<b>&</b>" } `)},
		{"invalid UTF-8", "ok\xffbad\xc3", 1 << 30, time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), nil},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			fill := func(ptr any) {
				rv := reflect.ValueOf(ptr).Elem()
				for i := range rv.NumField() {
					f, sf := rv.Field(i), rv.Type().Field(i)
					if !sf.IsExported() {
						continue
					}
					switch {
					case f.Type() == reflect.TypeFor[crm.ID]():
						f.Set(reflect.ValueOf(crm.NewID()))
					case f.Type() == reflect.TypeFor[json.RawMessage]():
						f.Set(reflect.ValueOf(v.custom))
					case f.Type() == reflect.TypeFor[time.Time]():
						f.Set(reflect.ValueOf(v.at))
					case f.Type() == reflect.TypeFor[*time.Time]():
						at := v.at.Add(time.Duration(i) * time.Microsecond)
						f.Set(reflect.ValueOf(&at))
					case f.Type() == reflect.TypeFor[crm.UTM]():
						f.Set(reflect.ValueOf(crm.UTM{Source: v.str, Campaign: "spring", Content: v.str}))
					case f.Kind() == reflect.String:
						f.SetString(v.str + sf.Name)
					case f.Kind() == reflect.Int32:
						f.SetInt(int64(int32(v.num)))
					case f.Kind() == reflect.Bool:
						f.SetBool(true)
					case f.Type() == reflect.TypeFor[*int32]():
						n := int32(v.num)
						f.Set(reflect.ValueOf(&n))
					default:
						t.Fatalf("%s.%s: a field of type %s; teach this test and the encoder about it", rv.Type(), sf.Name, f.Type())
					}
				}
			}
			var in LeadInput
			require.Equal(t, string(mustJSON(in)), string(leadInputJSON(&in)), "the zero input")
			fill(&in)
			require.Equal(t, string(mustJSON(in)), string(leadInputJSON(&in)))

			var l crm.Lead
			require.Equal(t, string(mustJSON(l)), string(leadJSON(&l)), "the zero lead")
			fill(&l)
			require.Equal(t, string(mustJSON(l)), string(leadJSON(&l)))
			zero := int32(0)
			l = crm.Lead{CompanySize: &zero, Custom: json.RawMessage{'{', '}'}, UTM: crm.UTM{Term: v.str}}
			require.Equal(t, string(mustJSON(l)), string(leadJSON(&l)), "a zero company size is written, a zero ID is not")

			for _, u := range []crm.UTM{{}, {Medium: v.str}, in.UTM} {
				require.Equal(t, string(mustJSON(u)), string(utmJSON(u)))
			}
			fill(&in.UTM)
			require.Equal(t, string(mustJSON(in.UTM)), string(utmJSON(in.UTM)))
		})
	}
}

// Each character that encoding/json escapes is escaped, alone in a string that otherwise needs none.
func TestMarshaledStringEscapesAsEncodingJSON(t *testing.T) {
	for _, c := range []string{"", "<", ">", "&", `"`, `\`, "\x00", "\x1f", "\t", "\n", "\u2028", "\u2029", "\xff", "\xc3", "\x7f", "é", "王", "😀"} {
		s := "a" + c + "b"
		require.Equal(t, string(mustJSON(s)), string(appendMarshaledString(nil, s)), "%q", s)
	}
}
