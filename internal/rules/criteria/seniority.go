package criteria

import "strings"

// Seniority is how senior a job title is, from staff up to the C-suite.
type Seniority string

// Seniority levels, lowest first.
const (
	Staff    Seniority = "staff"
	Manager  Seniority = "manager"
	Director Seniority = "director"
	VP       Seniority = "vp"
	CLevel   Seniority = "c_level"
)

var seniorities = []Seniority{Staff, Manager, Director, VP, CLevel}

func seniorityNames() []string {
	names := make([]string, len(seniorities))
	for i, s := range seniorities {
		names[i] = string(s)
	}
	return names
}

func rankOf(s Seniority) int {
	for i, x := range seniorities {
		if x == s {
			return i + 1
		}
	}
	return 0
}

// titleWords map words of English and Chinese job titles to a seniority, most senior first, so that
// "副总裁" (vice president) is not read as "总裁" (president) and "VP of Sales" is not read as a manager.
var titleWords = []struct {
	words []string
	level Seniority
}{
	{[]string{"副总裁", "副总经理", "vice president", "vp", "svp", "evp", "avp"}, VP},
	{[]string{"ceo", "cto", "cfo", "coo", "cio", "cmo", "chief", "president", "founder", "owner", "partner",
		"董事长", "总裁", "总经理", "首席", "创始人", "合伙人", "老板", "董事"}, CLevel},
	{[]string{"director", "head of", "head", "总监", "部长", "主任"}, Director},
	{[]string{"manager", "lead", "supervisor", "经理", "主管", "组长"}, Manager},
}

// SeniorityOf classifies a job title; "" when the title is empty.
func SeniorityOf(title string) Seniority {
	t := strings.ToLower(strings.TrimSpace(title))
	if t == "" {
		return ""
	}
	for _, g := range titleWords {
		for _, w := range g.words {
			if containsWord(t, w) {
				return g.level
			}
		}
	}
	return Staff
}

// containsWord finds w in t; ASCII words must stand alone ("cto" is not in "director"), CJK words
// need no separators.
func containsWord(t, w string) bool {
	if w[0] >= 0x80 {
		return strings.Contains(t, w)
	}
	for i := 0; ; {
		j := strings.Index(t[i:], w)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(w)
		if (start == 0 || !isLetter(t[start-1])) && (end == len(t) || !isLetter(t[end])) {
			return true
		}
		i = start + 1
	}
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }
