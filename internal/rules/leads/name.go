package leads

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// compoundSurnames are two-character Chinese family names, so that 欧阳娜娜 splits as 欧阳 + 娜娜.
var compoundSurnames = []string{"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐",
	"长孙", "宇文", "司徒", "夏侯", "轩辕", "端木", "独孤", "南宫", "西门", "百里"}

// SplitName splits a lead's display name into given and family name for its contact: a CJK name
// (no spaces) is family name first, one character or a known compound surname; another name is
// family name last. A single word is the family name.
func SplitName(name string) (first, last string) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", ""
	}
	if !strings.Contains(name, " ") && isHan(name) {
		for _, s := range compoundSurnames {
			if strings.HasPrefix(name, s) && len(name) > len(s) {
				return name[len(s):], s
			}
		}
		_, size := utf8.DecodeRuneInString(name)
		if size == len(name) {
			return "", name
		}
		return name[size:], name[:size]
	}
	i := strings.LastIndexByte(name, ' ')
	if i < 0 {
		return "", name
	}
	return strings.TrimSpace(name[:i]), name[i+1:]
}

func isHan(s string) bool {
	for _, r := range s {
		if !unicode.Is(unicode.Han, r) && r != '·' {
			return false
		}
	}
	return true
}
