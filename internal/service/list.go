package service

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/rapportcrm/rapport/internal/crm"
)

// MaxPageSize caps first/last on every list.
const MaxPageSize = 100

// DefaultPageSize applies when a list is asked for without first or last.
const DefaultPageSize = 20

// Page asks for one page of a keyset-paginated list (Relay style). Cursors are opaque to clients.
type Page struct {
	First  *int
	After  string
	Last   *int
	Before string
}

// PageInfo describes the page returned.
type PageInfo struct {
	HasNextPage     bool
	HasPreviousPage bool
	StartCursor     string
	EndCursor       string
}

// StringFilter matches a text field: exactly, one of a set, or containing a substring (case-
// insensitive). Set conditions combine with AND.
type StringFilter struct {
	Eq       *string
	In       []string
	Contains *string
}

// TimeRange matches times in [From, To).
type TimeRange struct {
	From *time.Time
	To   *time.Time
}

// IntRange matches integers in [Min, Max].
type IntRange struct {
	Min *int32
	Max *int32
}

// sortKey is one orderable column of a list: its SQL expression and how its values travel in
// cursors.
type sortKey struct {
	column string
	decode func(string) (any, error)
	encode func(any) string
}

var (
	textKey = func(col string) sortKey {
		return sortKey{column: col,
			decode: func(s string) (any, error) { return s, nil },
			encode: func(v any) string { return v.(string) }}
	}
	timeKey = func(col string) sortKey {
		return sortKey{column: col,
			decode: func(s string) (any, error) { return time.Parse(time.RFC3339Nano, s) },
			encode: func(v any) string { return v.(time.Time).UTC().Format(time.RFC3339Nano) }}
	}
	// decimalKey and dateKey travel as text and are cast by PostgreSQL (exact, no float).
	decimalKey = func(col string) sortKey {
		return sortKey{column: col,
			decode: func(s string) (any, error) {
				d, err := decimal.NewFromString(s)
				return d.String(), err
			},
			encode: func(v any) string { return v.(string) }}
	}
	dateKey = func(col string) sortKey {
		return sortKey{column: col,
			decode: func(s string) (any, error) {
				if s == "infinity" {
					return s, nil
				}
				_, err := time.Parse(time.DateOnly, s)
				return s, err
			},
			encode: func(v any) string { return v.(string) }}
	}
)

// listQuery builds one keyset-paginated SELECT. Every value travels as a bind parameter; column
// names come only from the whitelists in this package.
type listQuery struct {
	table    string
	columns  string
	where    []string
	args     []any
	sortKeys map[string]sortKey // nil: recordSortKeys
}

// arg adds a bind parameter and returns its placeholder.
func (q *listQuery) arg(v any) string {
	q.args = append(q.args, v)
	return fmt.Sprintf("$%d", len(q.args))
}

func (q *listQuery) cond(format string, args ...any) {
	ph := make([]any, len(args))
	for i, a := range args {
		ph[i] = q.arg(a)
	}
	q.where = append(q.where, fmt.Sprintf(format, ph...))
}

// text adds the conditions of a string filter on column.
func (q *listQuery) text(column string, f *StringFilter) {
	if f == nil {
		return
	}
	if f.Eq != nil {
		q.cond(column+" = %s", *f.Eq)
	}
	if f.In != nil {
		q.cond(column+" = ANY(%s)", f.In)
	}
	if f.Contains != nil && *f.Contains != "" {
		q.cond(column+" ILIKE %s", "%"+escapeLike(*f.Contains)+"%")
	}
}

func (q *listQuery) timeRange(column string, r *TimeRange) {
	if r == nil {
		return
	}
	if r.From != nil {
		q.cond(column+" >= %s", *r.From)
	}
	if r.To != nil {
		q.cond(column+" < %s", *r.To)
	}
}

func (q *listQuery) intRange(column string, r *IntRange) {
	if r == nil {
		return
	}
	if r.Min != nil {
		q.cond(column+" >= %s", *r.Min)
	}
	if r.Max != nil {
		q.cond(column+" <= %s", *r.Max)
	}
}

// deleted lists deleted records (the recycle bin) instead of live ones.
func (q *listQuery) deleted(deleted bool) {
	if deleted {
		q.where = append(q.where, "deleted_at IS NOT NULL")
	} else {
		q.where = append(q.where, "deleted_at IS NULL")
	}
}

// visibleTo confines the list to records the viewer may see (nil viewer: no confinement).
func (q *listQuery) visibleTo(orgID crm.ID, viewer *crm.ID) {
	if viewer == nil {
		return
	}
	q.cond("(owner_id IS NULL OR owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = %s AND v.viewer_id = %s))", orgID, *viewer)
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// cursor is the decoded position of a row in a list: its sort value and ID.
type cursor struct {
	Key   string `json:"k"`
	Value string `json:"v"`
	ID    crm.ID `json:"i"`
}

// encodeCursor returns the base64url of the cursor's JSON. Every edge of a page has a cursor, so it
// writes the JSON by hand, byte for byte what json.Marshal writes, and encodes it in stack buffers:
// one allocation, the string.
func encodeCursor(key string, value string, id crm.ID) string {
	var buf [192]byte
	b := append(buf[:0], `{"k":`...)
	b = appendMarshaledString(b, key)
	b = append(b, `,"v":`...)
	b = appendMarshaledString(b, value)
	b = append(b, `,"i":"`...)
	var text [36]byte
	hex.Encode(text[0:8], id[0:4])
	hex.Encode(text[9:13], id[4:6])
	hex.Encode(text[14:18], id[6:8])
	hex.Encode(text[19:23], id[8:10])
	hex.Encode(text[24:], id[10:])
	text[8], text[13], text[18], text[23] = '-', '-', '-', '-'
	b = append(append(b, text[:]...), `"}`...)
	var out [256]byte
	return string(base64.RawURLEncoding.AppendEncode(out[:0], b))
}

// appendMarshaledString appends s as json.Marshal writes it (cursors, captured leads' payloads and
// snapshots; appendJSONString, for ledgers, writes it differently): as is when it is printable
// ASCII without quotes, backslashes or HTML characters, or valid UTF-8 beyond ASCII without
// U+2028/U+2029; anything else through json.Marshal itself.
func appendMarshaledString(b []byte, s string) []byte {
	for _, r := range s {
		if r < utf8.RuneSelf && (r < 0x20 || r == '"' || r == '\\' || r == '<' || r == '>' || r == '&') ||
			r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
			j, _ := json.Marshal(s)
			return append(b, j...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func decodeCursor(field, s, key string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.ID == crm.NilID {
		return c, crm.Invalid(field, "The cursor is not one this API returned; pass an endCursor or startCursor from a previous page.")
	}
	if c.Key != key {
		return c, crm.Invalid(field, "The cursor belongs to a list in another order (%s); keep the same orderBy while paging.", c.Key)
	}
	return c, nil
}

// pageBounds validates first/last and returns the page size and direction.
func pageBounds(p Page) (limit int, backward bool, err error) {
	if p.First != nil && p.Last != nil {
		return 0, false, crm.Invalid("last", "Pass first or last, not both.")
	}
	limit = DefaultPageSize
	switch {
	case p.First != nil:
		limit = *p.First
	case p.Last != nil:
		limit, backward = *p.Last, true
	case p.Before != "":
		backward = true
	}
	field := "first"
	if backward {
		field = "last"
	}
	if limit < 0 || limit > MaxPageSize {
		return 0, false, crm.Invalid(field, "Page size must be between 0 and %d.", MaxPageSize)
	}
	return limit, backward, nil
}

// build returns the SQL of one page: rows after/before the cursors in (key, id) order, limit+1 of
// them so the caller can tell whether another page follows.
func (q *listQuery) build(p Page, orderName string, key sortKey, desc bool) (string, int, bool, error) {
	limit, backward, err := pageBounds(p)
	if err != nil {
		return "", 0, false, err
	}
	for _, bound := range []struct {
		field, cursor string
		after         bool
	}{{"after", p.After, true}, {"before", p.Before, false}} {
		if bound.cursor == "" {
			continue
		}
		c, err := decodeCursor(bound.field, bound.cursor, orderName)
		if err != nil {
			return "", 0, false, err
		}
		v, err := key.decode(c.Value)
		if err != nil {
			return "", 0, false, crm.Invalid(bound.field, "The cursor is damaged; pass one from a previous page.")
		}
		op := ">"
		if bound.after == desc {
			op = "<"
		}
		q.cond(fmt.Sprintf("(%s, id) %s (%%s, %%s)", key.column, op), v, c.ID)
	}
	dir := "ASC"
	if desc != backward {
		dir = "DESC"
	}
	sql := fmt.Sprintf("SELECT %s FROM %s WHERE %s ORDER BY %s %s, id %s LIMIT %d",
		q.columns, q.table, strings.Join(q.where, " AND "), key.column, dir, dir, limit+1)
	return sql, limit, backward, nil
}

// count returns the SQL counting every row that matches the filters (cursors excluded).
func (q *listQuery) count() string {
	return fmt.Sprintf("SELECT count(*) FROM %s WHERE %s", q.table, strings.Join(q.where, " AND "))
}

// finishPage trims the extra row, restores display order for backward pages and fills PageInfo.
func finishPage[T any](rows []T, limit int, backward bool, p Page, cursorOf func(T) string) ([]T, PageInfo) {
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	if backward {
		for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
			rows[i], rows[j] = rows[j], rows[i]
		}
	}
	info := PageInfo{}
	if backward {
		info.HasPreviousPage, info.HasNextPage = more, p.Before != ""
	} else {
		info.HasNextPage, info.HasPreviousPage = more, p.After != ""
	}
	if len(rows) > 0 {
		info.StartCursor, info.EndCursor = cursorOf(rows[0]), cursorOf(rows[len(rows)-1])
	}
	return rows, info
}

// timeCursor decodes the after cursor of a newest-first list keyed by (time, id) in the given
// order; "" is the start of the list (nil, nil).
func timeCursor(after, order string) (*time.Time, *crm.ID, error) {
	if after == "" {
		return nil, nil, nil
	}
	c, err := decodeCursor("after", after, order)
	if err != nil {
		return nil, nil, err
	}
	at, err := time.Parse(time.RFC3339Nano, c.Value)
	if err != nil {
		return nil, nil, crm.Invalid("after", "The cursor is damaged; pass one from a previous page.")
	}
	return &at, &c.ID, nil
}

// checkFirst validates the page size of a forward-only list.
func checkFirst(first int) error {
	if first < 0 || first > MaxPageSize {
		return crm.Invalid("first", "Page size must be between 0 and %d.", MaxPageSize)
	}
	return nil
}
