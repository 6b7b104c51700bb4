package normalize

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDomain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, err string
	}{
		{name: "URL with path and query", in: "https://www.Example.com/path?x", want: "example.com"},
		{name: "upper case", in: "Example.COM", want: "example.com"},
		{name: "trailing dot and www", in: "www.example.com.", want: "example.com"},
		{name: "port, user info and fragment", in: "http://user:pw@shop.example.com:8080#top", want: "shop.example.com"},
		{name: "scheme-relative", in: "//example.com/a", want: "example.com"},
		{name: "other scheme", in: "ftp://files.example.com", want: "files.example.com"},
		{name: "query containing a URL", in: "example.com/?next=http://other.org", want: "example.com"},
		{name: "repeated www", in: "www.www.example.com", want: "example.com"},
		{name: "www is kept when it is the name itself", in: "www.com", want: "www.com"},
		{name: "www2 is not stripped", in: "www2.example.com", want: "www2.example.com"},
		{name: "second-level country domain", in: "Alibaba.com.cn", want: "alibaba.com.cn"},
		{name: "Chinese IDN is kept in Unicode", in: "例子.中国", want: "例子.中国"},
		{name: "full-width and ideographic full stop", in: "ＷＷＷ.例子。中国", want: "例子.中国"},
		{name: "German IDN lower-cased", in: "BÜCHER.de", want: "bücher.de"},
		{name: "Hindi IDN with combining marks", in: "भारत.भारत", want: "भारत.भारत"},
		{name: "Punycode is kept as given", in: "xn--fsqu00a.xn--fiqs8s", want: "xn--fsqu00a.xn--fiqs8s"},
		{name: "63-character label", in: strings.Repeat("a", 63) + ".com", want: strings.Repeat("a", 63) + ".com"},
		{name: "empty", in: " ", err: "empty"},
		{name: "single label", in: "localhost", err: "at least two labels"},
		{name: "scheme only", in: "https://", err: "no host name"},
		{name: "IPv4 address", in: "http://192.168.0.1/", err: "IP address"},
		{name: "IPv6 address", in: "http://[::1]/", err: "not a valid domain"},
		{name: "hyphen at label start", in: "-example.com", err: "hyphen"},
		{name: "underscore", in: "my_site.com", err: "letters, digits and hyphens"},
		{name: "space inside", in: "exa mple.com", err: "letters, digits and hyphens"},
		{name: "empty label", in: "example..com", err: "empty label"},
		{name: "64-character label", in: strings.Repeat("a", 64) + ".com", err: "longer than 63"},
		{name: "Unicode label too long once encoded", in: "中华人民共和国国家市场监督管理总局企业信用信息公示系统北京上海广州深圳杭州南京成都重庆武汉西安天津苏州" + ".com", err: "too long once encoded"},
		{name: "longer than 253", in: strings.Repeat(strings.Repeat("a", 60)+".", 5) + "com", err: "longer than 253"},
		{name: "emoji", in: "😀.com", err: "letters, digits and hyphens"},
		{name: "invalid UTF-8", in: "example.com\xff", err: "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Domain("domain", tt.in)
			if tt.err != "" {
				requireInvalid(t, err, "domain", tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, err string
	}{
		{name: "https", in: "https://example.com/about", want: "https://example.com/about"},
		{name: "trimmed, otherwise as given", in: " HTTP://Example.com/A?b=1#c \n", want: "HTTP://Example.com/A?b=1#c"},
		{name: "port and IP", in: "http://10.0.0.1:8080/", want: "http://10.0.0.1:8080/"},
		{name: "IDN host", in: "https://例子.中国/产品", want: "https://例子.中国/产品"},
		{name: "empty", in: "", err: "empty"},
		{name: "no scheme", in: "example.com/about", err: "not an http or https URL"},
		{name: "other scheme", in: "ftp://example.com", err: "not an http or https URL"},
		{name: "javascript", in: "javascript:alert(1)", err: "not an http or https URL"},
		{name: "no host", in: "https:///path", err: "no host name"},
		{name: "opaque", in: "http:example.com", err: "no host name"},
		{name: "port only", in: "http://:80/", err: "no host name"},
		{name: "credentials", in: "https://user:secret@example.com/", err: "without credentials"},
		{name: "space inside", in: "https://example.com/a b", err: "%20"},
		{name: "bad escape", in: "https://example.com/%zz", err: "not a valid URL"},
		{name: "too long", in: "https://example.com/" + strings.Repeat("a", 2048), err: "at most 2048 bytes"},
		{name: "invalid UTF-8", in: "https://example.com/\xff", err: "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := URL("website", tt.in)
			if tt.err != "" {
				requireInvalid(t, err, "website", tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func FuzzDomain(f *testing.F) {
	for _, s := range []string{"https://www.Example.com/path?x", "www.www.com", "例子。中国", "a.b:80", "u@h.io", "1.2.3.4", "//x.y", "xn--a.com", "K.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := fuzzNormalizer(t, "domain", func(s string) (string, error) { return Domain("domain", s) }, s)
		require.False(t, strings.ContainsAny(out, "/:@?# "), "domain %q", out)
	})
}

func FuzzURL(f *testing.F) {
	for _, s := range []string{"https://example.com/about", " http://a.b ", "http://u@h", "ftp://x", "http://[::1]:80/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fuzzNormalizer(t, "website", func(s string) (string, error) { return URL("website", s) }, s)
	})
}
