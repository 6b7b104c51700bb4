package normalize

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDisplayName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, first, last, want string
	}{
		{name: "Chinese: family name first, no space", first: "小明", last: "王", want: "王小明"},
		{name: "Japanese kanji", first: "太郎", last: "山田", want: "山田太郎"},
		{name: "Japanese kana given name", first: "さくら", last: "佐藤", want: "佐藤さくら"},
		{name: "katakana", first: "ジョン", last: "スミス", want: "スミスジョン"},
		{name: "Korean", first: "민준", last: "김", want: "김민준"},
		{name: "Western", first: "Wei", last: "Zhang", want: "Wei Zhang"},
		{name: "accented Latin", first: "José", last: "Álvarez", want: "José Álvarez"},
		{name: "mixed: CJK in one part wins", first: "Wei", last: "张", want: "张Wei"},
		{name: "first only", first: "Wei", last: "", want: "Wei"},
		{name: "last only", first: "", last: "王", want: "王"},
		{name: "parts are trimmed", first: " Wei\u3000", last: " Zhang ", want: "Wei Zhang"},
		{name: "blank last", first: "Wei", last: "  ", want: "Wei"},
		{name: "both empty", first: "", last: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, DisplayName(tt.first, tt.last))
		})
	}
}

func FuzzDisplayName(f *testing.F) {
	f.Add("小明", "王")
	f.Add("Wei", "Zhang")
	f.Add("", " ")
	f.Fuzz(func(t *testing.T, first, last string) {
		got := DisplayName(first, last)
		require.Equal(t, strings.TrimSpace(got), got)
		require.Contains(t, got, strings.TrimSpace(first))
		require.Contains(t, got, strings.TrimSpace(last))
	})
}
