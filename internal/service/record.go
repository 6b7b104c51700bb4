package service

import (
	"bytes"
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/rapportcrm/rapport/internal/crm"
)

// maxCustomBytes bounds the custom JSON of a record.
const maxCustomBytes = 16 << 10

// inOrder returns records in the order of ids: the record with each ID, or T's zero value when
// there is none (missing, or not visible to the caller). Batch lookups answer in key order so that
// callers can match results to keys by position.
func inOrder[T any](records []T, ids []crm.ID, idOf func(T) crm.ID) []T {
	byID := make(map[crm.ID]T, len(records))
	for _, r := range records {
		byID[idOf(r)] = r
	}
	out := make([]T, len(ids))
	for i, id := range ids {
		out[i] = byID[id]
	}
	return out
}

// checkVersion turns a stale expected version into a CONFLICT that tells the client the current
// one. expected 0 skips the check (internal callers that hold the row lock).
func checkVersion(kind string, current, expected int32) error {
	if expected != 0 && current != expected {
		return crm.Errorf(crm.ECONFLICT,
			"The %s was changed by someone else (now at version %d, you sent %d): reload it and apply your change again.",
			kind, current, expected).With("currentVersion", current)
	}
	return nil
}

// normalizeCustom validates custom fields: a JSON object of bounded size; empty means {}.
func normalizeCustom(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("{}"), nil
	}
	if len(raw) > maxCustomBytes {
		return nil, crm.Invalid("custom", "Custom fields take at most %d bytes of JSON.", maxCustomBytes)
	}
	if !utf8.Valid(raw) {
		return nil, crm.Invalid("custom", "Custom fields must be UTF-8 JSON.")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, crm.Invalid("custom", `Custom fields must be a JSON object such as {"tier": "gold"}.`)
	}
	return json.Marshal(obj) // canonical form: sorted keys, no insignificant space
}

// mergeCustom adds to base the custom keys it lacks from other.
func mergeCustom(base, other json.RawMessage) json.RawMessage {
	var b, o map[string]json.RawMessage
	if json.Unmarshal(base, &b) != nil || json.Unmarshal(other, &o) != nil {
		return base
	}
	if b == nil {
		b = map[string]json.RawMessage{}
	}
	for k, v := range o {
		if _, ok := b[k]; !ok {
			b[k] = v
		}
	}
	return mustJSON(b)
}

// fillBlank sets *dst to src when *dst is empty.
func fillBlank(dst *string, src string) {
	if *dst == "" {
		*dst = src
	}
}

// checkMergeIDs validates the IDs of a merge before anything is locked.
func checkMergeIDs(survivor crm.ID, duplicates []crm.ID) error {
	if len(duplicates) == 0 || len(duplicates) > 20 {
		return crm.Invalid("duplicateIds", "Merge between 1 and 20 duplicates at a time.")
	}
	seen := map[crm.ID]bool{survivor: true}
	for _, id := range duplicates {
		if seen[id] {
			return crm.Invalid("duplicateIds", "Each duplicate must be listed once and differ from the survivor.")
		}
		seen[id] = true
	}
	return nil
}

func deletedChange(deletedAt *time.Time) crm.FieldChange {
	if deletedAt == nil {
		return crm.FieldChange{Field: "deletedAt", After: json.RawMessage("null")}
	}
	return crm.FieldChange{Field: "deletedAt", Before: json.RawMessage("null"), After: mustJSON(deletedAt)}
}

func idChange(field string, before, after crm.ID) crm.FieldChange {
	return crm.FieldChange{Field: field, Before: mustJSON(idOrNil(before)), After: mustJSON(idOrNil(after))}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called with values that always encode
	}
	return b
}
