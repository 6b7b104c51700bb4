// Package crm is Rapport's vocabulary: the domain types, identifiers, the acting principal and the
// error codes that every other package speaks. It depends on the standard library, uuid and decimal only, so
// that rules, services and transports can all import it without pulling in a database or a transport.
package crm

import (
	"time"

	"github.com/google/uuid"
)

// ID identifies every record. New IDs are UUIDv7, so they sort by creation time and keep B-tree
// inserts local.
type ID = uuid.UUID

// NilID is the zero ID; it means "none" wherever an optional reference is stored as an ID.
var NilID = uuid.Nil

// NewID returns a fresh UUIDv7.
func NewID() ID { return uuid.Must(uuid.NewV7()) }

// ParseID parses the canonical text form of an ID.
func ParseID(s string) (ID, error) { return uuid.Parse(s) }

// RefIDs returns the distinct non-nil IDs that ref picks from records, in first-seen order: the
// keys of one batched lookup for a reference of every record of a page.
func RefIDs[T any](records []T, ref func(T) ID) []ID {
	ids := make([]ID, 0, len(records))
	seen := make(map[ID]bool, len(records))
	for _, r := range records {
		if id := ref(r); id != NilID && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// Clock tells the time. Services take one so tests can fix "now"; rules take the time as a parameter.
type Clock func() time.Time
