package normalize

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		max      int
		want     string
		err      string
	}{
		{name: "clean ASCII is kept", in: "Wei Zhang", max: 100, want: "Wei Zhang"},
		{name: "empty is allowed", in: "", max: 100, want: ""},
		{name: "only spaces become empty", in: " \u3000\t ", max: 100, want: ""},
		{name: "ends are trimmed", in: "  Wei Zhang  ", max: 100, want: "Wei Zhang"},
		{name: "ideographic space is trimmed", in: "\u3000王小明\u3000", max: 100, want: "王小明"},
		{name: "no-break and narrow spaces are trimmed", in: "\u00a0Ana\u202f", max: 100, want: "Ana"},
		{name: "BOM and zero-width space at the ends are trimmed", in: "\ufeff\u200bAna\u200b", max: 100, want: "Ana"},
		{name: "pasted trailing newline is trimmed", in: "Acme Ltd.\r\n", max: 100, want: "Acme Ltd."},
		{name: "inner runs collapse to one space", in: "Acme   \u3000 Trading  Co", max: 100, want: "Acme Trading Co"},
		{name: "inner ideographic space becomes an ASCII space", in: "王\u3000小明", max: 100, want: "王 小明"},
		{name: "CJK counts in characters, not bytes", in: strings.Repeat("王", 50), max: 50, want: strings.Repeat("王", 50)},
		{name: "one character over the limit", in: strings.Repeat("王", 51), max: 50, err: "51 characters long: send at most 50"},
		{name: "clean ASCII over the limit", in: "abcd", max: 3, err: "4 characters long: send at most 3"},
		{name: "limit applies after trimming", in: "  abc  ", max: 3, want: "abc"},
		{name: "inner newline is refused", in: "Wei\nZhang", max: 100, err: "control character U+000A"},
		{name: "inner tab is refused", in: "Wei\tZhang", max: 100, err: "control character U+0009"},
		{name: "NUL is refused", in: "Wei\x00", max: 100, err: "control character U+0000"},
		{name: "DEL is refused", in: "Wei\x7f", max: 100, err: "control character U+007F"},
		{name: "C1 control is refused", in: "Wei\u0085Zhang", max: 100, err: "control character U+0085"},
		{name: "invalid UTF-8 is refused", in: "Wei\xff", max: 100, err: "not valid UTF-8"},
		{name: "emoji and combining marks are kept", in: "Café 👩‍💻", max: 100, want: "Café 👩‍💻"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Text("name", tt.in, tt.max)
			if tt.err != "" {
				requireInvalid(t, err, "name", tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestNote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		max      int
		want     string
		err      string
	}{
		{name: "lines and tabs are kept", in: "Line 1\n\tLine 2", max: 100, want: "Line 1\n\tLine 2"},
		{name: "inner spaces are not collapsed", in: "a   b", max: 100, want: "a   b"},
		{name: "ends are trimmed", in: "\n\u3000 first\nlast \n\n", max: 100, want: "first\nlast"},
		{name: "CRLF becomes LF", in: "a\r\nb\r\n", max: 100, want: "a\nb"},
		{name: "lone CR becomes LF", in: "a\rb", max: 100, want: "a\nb"},
		{name: "empty is allowed", in: "", max: 100, want: ""},
		{name: "CJK counts in characters", in: strings.Repeat("字", 10), max: 10, want: strings.Repeat("字", 10)},
		{name: "too long", in: "abcd", max: 3, err: "4 characters long: send at most 3"},
		{name: "NUL is refused", in: "a\x00b", max: 100, err: "control character U+0000"},
		{name: "vertical tab is refused", in: "a\vb", max: 100, err: "control character U+000B"},
		{name: "invalid UTF-8 is refused", in: "\xc3", max: 100, err: "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Note("description", tt.in, tt.max)
			if tt.err != "" {
				requireInvalid(t, err, "description", tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestTextDoesNotAllocateForCleanInput(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() { _, _ = Text("name", "Acme Trading Co", 200) })
	require.Zero(t, allocs)
}

func FuzzText(f *testing.F) {
	for _, s := range []string{"", "Wei Zhang", "  王\u3000小明 ", "a\nb", "a  b", "\xff", "\u0085", "\ufeff x \u200b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := fuzzNormalizer(t, "name", func(s string) (string, error) { return Text("name", s, 40) }, s)
		require.LessOrEqual(t, utf8.RuneCountInString(out), 40)
		require.NotContains(t, out, "  ")
		require.Equal(t, strings.TrimFunc(out, isTrimmable), out)
		require.Equal(t, -1, strings.IndexFunc(out, unicode.IsControl))
	})
}

func FuzzNote(f *testing.F) {
	for _, s := range []string{"", "a\r\nb", "\n\tx\n", "a\rb\r", "\x00", "\u3000note\u3000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := fuzzNormalizer(t, "description", func(s string) (string, error) { return Note("description", s, 200) }, s)
		require.NotContains(t, out, "\r")
		require.LessOrEqual(t, utf8.RuneCountInString(out), 200)
	})
}

func BenchmarkText(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = Text("name", " 上海\u3000浦东  发展银行 ", 200)
	}
}
