// Package normalize turns user-supplied field values into the one form Rapport stores, or explains
// what is wrong with them. Every check lives here so that GraphQL, the REST API, imports and jobs
// accept exactly the same input, and so that duplicates are found on the stored form.
//
// Every function that can fail returns a *crm.Error with code EINVALID that names the field and
// tells the caller what to send instead. Normalizing an already normalized value returns it
// unchanged, so values can be normalized again on every write.
package normalize

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rapportcrm/rapport/internal/crm"
)

// Text normalizes a one-line value such as a name or a title: it trims Unicode white space at both
// ends (U+3000 ideographic space and a pasted trailing newline included), collapses every inner
// run of white space to one ASCII space, and rejects invalid UTF-8, control characters (names have
// no line breaks or tabs) and values longer than max characters. Length is counted in characters
// (runes), not bytes, so a 50-character Chinese name is 50 long. The empty string is allowed;
// callers decide whether a field is required.
func Text(field, s string, max int) (string, error) {
	if !utf8.ValidString(s) {
		return "", invalidUTF8(field)
	}
	if isCleanLine(s) {
		if err := checkLength(field, len(s), max); err != nil {
			return "", err
		}
		return s, nil
	}
	s = strings.TrimFunc(s, isTrimmable)
	var b strings.Builder
	b.Grow(len(s))
	space, n := false, 0
	for _, r := range s {
		switch {
		case unicode.IsControl(r):
			return "", crm.Invalid(field, "The text contains the control character %U: send it on one line, without line breaks, tabs or other control characters.", r)
		case unicode.IsSpace(r):
			space = true
			continue
		case space:
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	if err := checkLength(field, n, max); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Note normalizes multi-line text such as a description or a comment: it turns CRLF and CR line
// ends into LF, trims white space at both ends and keeps everything inside as written (line breaks
// and tabs included). It rejects invalid UTF-8, control characters other than LF and tab, and
// values longer than max characters (runes). The empty string is allowed.
func Note(field, s string, max int) (string, error) {
	if !utf8.ValidString(s) {
		return "", invalidUTF8(field)
	}
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	s = strings.TrimFunc(s, isTrimmable)
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return "", crm.Invalid(field, "The text contains the control character %U: send plain text, with \\n for line breaks.", r)
		}
	}
	if err := checkLength(field, utf8.RuneCountInString(s), max); err != nil {
		return "", err
	}
	return s, nil
}

// isCleanLine reports whether s is printable ASCII with no white space at its ends and no run of
// spaces inside, the common case that Text returns unchanged without allocating.
func isCleanLine(s string) bool {
	if s == "" {
		return true
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || (c == ' ' && s[i+1] == ' ') {
			return false
		}
	}
	return true
}

// isTrimmable reports whether r is dropped from the ends of a value: Unicode white space, plus the
// byte-order mark and the zero-width space that copy-paste from documents and chat apps leaves.
func isTrimmable(r rune) bool {
	return unicode.IsSpace(r) || r == '\ufeff' || r == '\u200b'
}

func checkLength(field string, n, max int) error {
	if n > max {
		return crm.Invalid(field, "The text is %d characters long: send at most %d characters.", n, max)
	}
	return nil
}

func invalidUTF8(field string) error {
	return crm.Invalid(field, "The text is not valid UTF-8: send it encoded as UTF-8.")
}

// foldWidth maps the full-width forms of ASCII characters (U+FF01 to U+FF5E), the ideographic
// space and the ideographic full stops to ASCII. Chinese and Japanese input methods produce them
// when the user forgets to switch to half-width mode: "zhang＠example。com" is meant as
// "zhang@example.com". It returns s itself when there is nothing to fold.
func foldWidth(s string) string {
	fold := false
	for _, r := range s {
		if folded(r) != r {
			fold = true
			break
		}
	}
	if !fold {
		return s
	}
	return strings.Map(folded, s)
}

func folded(r rune) rune {
	switch {
	case r >= 0xff01 && r <= 0xff5e:
		return r - 0xfee0
	case r == '\u3000':
		return ' '
	case r == '\u3002', r == '\uff61': // ideographic and half-width ideographic full stop
		return '.'
	}
	return r
}

// quote renders user input for an error message: quoted, escaped where it is not printable, and
// shortened so that a megabyte of garbage does not come back in the response.
func quote(s string) string {
	const maxRunes = 64
	if utf8.RuneCountInString(s) > maxRunes {
		r := []rune(s)
		return strconv.Quote(string(r[:maxRunes])) + "…"
	}
	return strconv.Quote(s)
}
