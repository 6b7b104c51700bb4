package model

import (
	"context"
	"io"

	"github.com/99designs/gqlgen/graphql"
)

// Object holds the values of an object's selected fields and writes them as a JSON object. The
// generated code builds one instead of a graphql.FieldSet (graph/gqlgen) for every object whose
// fields resolve one after the other, i.e. all but the roots: it writes byte for byte what a
// FieldSet writes, without the map of written aliases, the copy of each field and the iterator a
// FieldSet allocates every time it is written, and with the values of up to eight fields in the
// same allocation.
type Object struct {
	fields []graphql.CollectedField
	// Values are the fields' marshalers, in the order of the selection.
	Values []graphql.Marshaler
	// Invalids counts the non-null fields that came out null: the object is then null itself.
	Invalids uint32
	values   [8]graphql.Marshaler
}

// NewObject prepares the values of the fields.
func NewObject(fields []graphql.CollectedField) *Object {
	o := &Object{fields: fields}
	if len(fields) <= len(o.values) {
		o.Values = o.values[:len(fields)]
	} else {
		o.Values = make([]graphql.Marshaler, len(fields))
	}
	return o
}

// Dispatch does nothing: there is no field left to resolve concurrently. It stands for
// graphql.FieldSet's.
func (o *Object) Dispatch(context.Context) {}

// MarshalGQL writes {"alias":value,...}; of fields with the same alias, the first, as a FieldSet
// does (the fields are collected merged by alias, so there are none).
func (o *Object) MarshalGQL(w io.Writer) {
	io.WriteString(w, "{")
	for i := range o.fields {
		alias := o.fields[i].Alias
		if written(o.fields[:i], alias) {
			continue
		}
		if i > 0 {
			io.WriteString(w, ",")
		}
		if plainName(alias) {
			io.WriteString(w, `"`)
			io.WriteString(w, alias)
			io.WriteString(w, `":`)
		} else {
			graphql.MarshalString(alias).MarshalGQL(w)
			io.WriteString(w, ":")
		}
		o.Values[i].MarshalGQL(w)
	}
	io.WriteString(w, "}")
}

// written tells whether one of the fields has the alias.
func written(fields []graphql.CollectedField, alias string) bool {
	for i := range fields {
		if fields[i].Alias == alias {
			return true
		}
	}
	return false
}

// plainName tells whether s needs no escaping in a JSON string: true of every GraphQL name.
func plainName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}
