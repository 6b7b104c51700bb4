package service

import (
	"bytes"
	"encoding/json"
	"sort"

	"github.com/rapportcrm/rapport/internal/crm"
)

// Opt is an optional input: Set says whether the caller sent the field at all, so an update can
// tell "leave unchanged" from "clear".
type Opt[T any] struct {
	Set   bool
	Value T
}

// Some returns a set Opt.
func Some[T any](v T) Opt[T] { return Opt[T]{Set: true, Value: v} }

// apply returns o's value when set, else current.
func (o Opt[T]) apply(current T) T {
	if o.Set {
		return o.Value
	}
	return current
}

// fields is a record's public fields by GraphQL name, for computing event changes.
type fields map[string]any

// diff returns the fields whose JSON values differ between before and after, sorted by name.
// A nil before means the record was created.
func diff(before, after fields) []crm.FieldChange {
	var out []crm.FieldChange
	for name, av := range after {
		a, _ := json.Marshal(av)
		var b []byte
		if before != nil {
			b, _ = json.Marshal(before[name])
		}
		if bytes.Equal(a, b) || (before == nil && isEmptyJSON(a)) {
			continue
		}
		c := crm.FieldChange{Field: name, After: a}
		if before != nil {
			c.Before = b
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

func isEmptyJSON(b []byte) bool {
	switch string(b) {
	case "null", `""`, "[]", "{}", "0", "false":
		return true
	}
	return false
}

// idOrNil returns nil for NilID, for nullable ID columns and JSON.
func idOrNil(id crm.ID) *crm.ID {
	if id == crm.NilID {
		return nil
	}
	return &id
}

// idOf dereferences a nullable ID column.
func idOf(id *crm.ID) crm.ID {
	if id == nil {
		return crm.NilID
	}
	return *id
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func strOf(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
