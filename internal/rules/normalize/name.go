package normalize

import (
	"strings"
	"unicode"
)

// DisplayName composes the name shown for a person from the first (given) and last (family) name.
// Chinese, Japanese and Korean names are written family name first and without a space, so when
// either part contains Han, Hiragana, Katakana or Hangul characters the result is last+first
// ("王" + "小明" gives "王小明"); otherwise it is "first last" ("Wei Zhang"). When one part is
// empty the other is returned alone. Parts are trimmed; they are expected to have passed Text.
func DisplayName(first, last string) string {
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	switch {
	case first == "":
		return last
	case last == "":
		return first
	case isCJK(first) || isCJK(last):
		return last + first
	}
	return first + " " + last
}

// isCJK reports whether s contains a character of a script whose names are written family first.
func isCJK(s string) bool {
	for _, r := range s {
		if r >= 0x1100 && unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) {
			return true
		}
	}
	return false
}
