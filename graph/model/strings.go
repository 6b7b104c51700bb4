package model

import "io"

// StringField writes the string a record's field holds, as graphql.MarshalString would write it.
// It holds a pointer to the field, so it is stored in a graphql.Marshaler without allocating,
// where graphql.MarshalString allocates a closure for every string. The generated code
// (graph/gqlgen) uses it for trivial String fields of records it has by pointer, which nothing
// changes before the response is written.
type StringField struct{ p *string }

// StringAt writes *p when the response is written.
func StringAt(p *string) StringField { return StringField{p} }

// MarshalGQL writes the string as a JSON string.
func (s StringField) MarshalGQL(w io.Writer) { writeQuotedString(w, *s.p) }

// StringsField writes the strings a record's field holds as a JSON array, as gqlgen's marshaler of
// [String!]! writes them (an empty array for nil), without a marshaler per string.
type StringsField struct{ p *[]string }

// StringsAt writes *p when the response is written.
func StringsAt(p *[]string) StringsField { return StringsField{p} }

// MarshalGQL writes the strings as a JSON array.
func (s StringsField) MarshalGQL(w io.Writer) {
	io.WriteString(w, "[")
	for i, v := range *s.p {
		if i > 0 {
			io.WriteString(w, ",")
		}
		writeQuotedString(w, v)
	}
	io.WriteString(w, "]")
}

const encodeHex = "0123456789ABCDEF"

// writeQuotedString is gqlgen's (graphql/string.go), which is not exported: the same bytes.
func writeQuotedString(w io.Writer, s string) {
	start := 0
	io.WriteString(w, `"`)
	for i, c := range s {
		if c < 0x20 || c == '\\' || c == '"' {
			io.WriteString(w, s[start:i])
			switch c {
			case '\t':
				io.WriteString(w, `\t`)
			case '\r':
				io.WriteString(w, `\r`)
			case '\n':
				io.WriteString(w, `\n`)
			case '\\':
				io.WriteString(w, `\\`)
			case '"':
				io.WriteString(w, `\"`)
			default:
				io.WriteString(w, `\u00`)
				w.Write([]byte{encodeHex[c>>4], encodeHex[c&0xf]})
			}
			start = i + 1
		}
	}
	io.WriteString(w, s[start:])
	io.WriteString(w, `"`)
}
