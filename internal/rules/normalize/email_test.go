package normalize

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEmail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, err string
	}{
		{name: "plain address", in: "zhang.wei@example.com", want: "zhang.wei@example.com"},
		{name: "trimmed and lower-cased", in: "  Zhang.Wei@Example.COM \n", want: "zhang.wei@example.com"},
		{name: "plus addressing", in: "wei+crm@example.co.uk", want: "wei+crm@example.co.uk"},
		{name: "full-width input method characters are folded", in: "ｚｈａｎｇ＠ｅｘａｍｐｌｅ。ｃｏｍ", want: "zhang@example.com"},
		{name: "IDN domain is kept in Unicode", in: "wang@例子.中国", want: "wang@例子.中国"},
		{name: "Unicode domain is lower-cased", in: "Info@BÜCHER.de", want: "info@bücher.de"},
		{name: "Unicode local part", in: "王小明@example.cn", want: "王小明@example.cn"},
		{name: "Japanese carrier address with dot before @", in: "taro.@docomo.ne.jp", want: "taro.@docomo.ne.jp"},
		{name: "empty", in: " ", err: "empty"},
		{name: "display name", in: "Wei Zhang <wei@example.com>", err: "name or angle brackets"},
		{name: "angle brackets", in: "<wei@example.com>", err: "name or angle brackets"},
		{name: "no @", in: "wei.example.com", err: "has no @"},
		{name: "two @", in: "wei@home@example.com", err: "more than one @"},
		{name: "two addresses", in: "a@example.com,b@example.com", err: "more than one @"},
		{name: "empty local part", in: "@example.com", err: "nothing before the @"},
		{name: "space in local part", in: "zhang wei@example.com", err: "white space"},
		{name: "quoted local part", in: `"wei"@example.com`, err: "quotes"},
		{name: "local part over 64 bytes", in: strings.Repeat("a", 65) + "@example.com", err: "longer than 64 bytes"},
		{name: "domain without a dot", in: "wei@localhost", err: "at least two labels"},
		{name: "empty domain", in: "wei@", err: "no host name"},
		{name: "empty label", in: "wei@example..com", err: "empty label"},
		{name: "hyphen at label end", in: "wei@example-.com", err: "hyphen"},
		{name: "underscore in domain", in: "wei@ex_ample.com", err: "letters, digits and hyphens"},
		{name: "IP literal", in: "wei@[192.168.0.1]", err: "letters, digits and hyphens"},
		{name: "bare IP", in: "wei@192.168.0.1", err: "IP address"},
		{name: "label over 63", in: "wei@" + strings.Repeat("a", 64) + ".com", err: "longer than 63"},
		{name: "address over 254 bytes", in: "wei@" + strings.Repeat(strings.Repeat("a", 60)+".", 5) + "com", err: "at most 254 bytes"},
		{name: "invalid UTF-8", in: "wei@example.com\xff", err: "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Email("emails[0]", tt.in)
			if tt.err != "" {
				requireInvalid(t, err, "emails[0]", tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func FuzzEmail(f *testing.F) {
	for _, s := range []string{"zhang.wei@example.com", "Ｗｅｉ＠例子。中国", "a@b", "<a@b.c>", "a@@b.c", "İ@K.com", "@", "a@xn--fsqu00a.xn--fiqs8s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := fuzzNormalizer(t, "email", func(s string) (string, error) { return Email("email", s) }, s)
		if out != "" {
			require.Equal(t, 1, strings.Count(out, "@"))
			require.Equal(t, strings.ToLower(out), out)
		}
	})
}

func BenchmarkEmail(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = Email("email", " Zhang.Wei@Example.com ")
	}
}
