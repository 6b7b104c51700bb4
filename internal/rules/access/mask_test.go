package access

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
)

func TestMaskEmail(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{in: "zhang.wei@example.com", want: "z***@example.com"},
		{in: "a@example.com", want: "a***@example.com"},
		{in: "王小明@例子.中国", want: "王***@例子.中国"},
		{in: "@example.com", want: "***@example.com"},
		{in: "not-an-address", want: "***"},
		{in: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, MaskEmail(tt.in))
		})
	}
}

func TestMaskPhone(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{in: "+8613800138000", want: "+86*******8000"},
		{in: "+14155552671", want: "+14*****2671"},
		{in: "+3912345678", want: "+39****5678"},
		{in: "+123456789", want: "+12***6789"}, // 10 characters: exactly 3 stars
		{in: "+12345678", want: "*********"},   // 9 characters: starred entirely
		{in: "12345", want: "*****"},
		{in: "", want: ""},
		{in: "电话一二三四五六七八", want: "电话一***五六七八"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, MaskPhone(tt.in))
		})
	}
}

func TestSensitive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		recordType, field string
		want              bool
	}{
		{recordType: crm.TypeContact, field: "emails", want: true},
		{recordType: crm.TypeContact, field: "phones", want: true},
		{recordType: crm.TypeContact, field: "firstName", want: false},
		{recordType: crm.TypeAccount, field: "emails", want: false},
		{recordType: crm.TypeUser, field: "email", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.recordType+"."+tt.field, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, Sensitive(tt.recordType, tt.field))
		})
	}
}

func FuzzMask(f *testing.F) {
	f.Add("zhang.wei@example.com")
	f.Add("+8613800138000")
	f.Add("\xff@\xfe")
	f.Fuzz(func(t *testing.T, s string) {
		e := MaskEmail(s)
		if s != "" {
			require.Contains(t, e, "***")
		}
		p := MaskPhone(s)
		n := utf8.RuneCountInString(s)
		require.Equal(t, n, utf8.RuneCountInString(p))
		if n < 10 {
			require.Equal(t, strings.Repeat("*", n), p)
		} else {
			require.GreaterOrEqual(t, strings.Count(p, "*"), 3)
		}
	})
}
