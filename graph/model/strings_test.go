package model

import (
	"bytes"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
)

// tricky are strings JSON must escape, or must pass through unchanged: quotes, backslashes,
// control characters, multi-byte and invalid UTF-8.
var tricky = []string{"", "Ada Lovelace", `say "hi"`, `C:\path`, "tab\there\r\nnew", "\x00\x01\x1f\x7f",
	"é 中文 😀", "bad \xff\xfe utf-8", "\u2028\u2029", strings.Repeat("x", 5000)}

func output(m graphql.Marshaler) string {
	var b bytes.Buffer
	m.MarshalGQL(&b)
	return b.String()
}

// TestStringAtWritesAsMarshalString pins StringAt to graphql.MarshalString, byte for byte, and
// shows that it reads the field when written.
func TestStringAtWritesAsMarshalString(t *testing.T) {
	for _, s := range tricky {
		v := s
		if got, want := output(StringAt(&v)), output(graphql.MarshalString(s)); got != want {
			t.Errorf("StringAt(%q) wrote %q, MarshalString %q", s, got, want)
		}
	}
	v := "before"
	m := StringAt(&v)
	v = "after"
	if got := output(m); got != `"after"` {
		t.Errorf("StringAt wrote %s, want the field's value when written", got)
	}
}

// TestStringsAtWritesAsStringList pins StringsAt to what gqlgen's marshaler of [String!]! writes:
// an array of MarshalString, empty for nil.
func TestStringsAtWritesAsStringList(t *testing.T) {
	for _, list := range [][]string{nil, {}, {"a"}, tricky} {
		want := make(graphql.Array, len(list))
		for i, s := range list {
			want[i] = graphql.MarshalString(s)
		}
		if got, want := output(StringsAt(&list)), output(want); got != want {
			t.Errorf("StringsAt(%q) wrote %q, gqlgen %q", list, got, want)
		}
	}
}
