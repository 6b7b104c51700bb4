package service

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/rapportcrm/rapport/internal/crm"
)

var (
	benchTime = time.Date(2026, 11, 23, 9, 30, 12, 345678000, time.FixedZone("CST", 8*3600))
	benchID   = crm.ID(uuid.MustParse("01a20813-0e5d-72e6-8a9d-ef5eee8343ab"))
)

// BenchmarkRecordCursor encodes the cursor of a contact in the default (creation time) order, as a
// contacts page does for each of its edges.
func BenchmarkRecordCursor(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		RecordCursor(Order{}, "张伟 Zhang Wei", benchTime, benchTime, benchID)
	}
}

// BenchmarkRecordCursorByName encodes a cursor whose value is a CJK name.
func BenchmarkRecordCursorByName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		RecordCursor(Order{Field: OrderName}, "杭州云栖科技有限公司", benchTime, benchTime, benchID)
	}
}

// BenchmarkOpportunityCursor encodes the cursor of a deal in close-date order, as a board column does.
func BenchmarkOpportunityCursor(b *testing.B) {
	d := crm.Opportunity{ID: benchID, CloseDate: &crm.Date{Year: 2026, Month: time.December, Day: 31}, CreatedAt: benchTime}
	amount := decimal.RequireFromString("123456.78")
	d.Amount = &amount
	b.ReportAllocs()
	for b.Loop() {
		OpportunityCursor(Order{Field: OrderCloseDate}, d)
	}
}

// BenchmarkDecodeCursor decodes an after cursor of the default order into its bound, as every
// next-page request does.
func BenchmarkDecodeCursor(b *testing.B) {
	c := RecordCursor(Order{}, "", benchTime, benchTime, benchID)
	key := recordSortKeys[OrderCreatedAt]
	b.ReportAllocs()
	for b.Loop() {
		cur, err := decodeCursor("after", c, OrderCreatedAt)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := key.decode(cur.Value); err != nil {
			b.Fatal(err)
		}
	}
}

// encodeCursor writes exactly what json.Marshal writes, so cursors handed out before stay equal.
func TestEncodeCursorIsJSON(t *testing.T) {
	for _, v := range []string{"", "2026-11-23T01:30:12.345678Z", "张伟 Zhang Wei", `a "quoted" \ name`, "<b>&amp;</b>",
		"tab\tnew\nline\x01", "line\u2028sep\u2029", "bad \xff utf8", "emoji 😀", "DEL\x7f"} {
		want, err := json.Marshal(cursor{Key: "NAME_DESC", Value: v, ID: benchID})
		if err != nil {
			t.Fatal(err)
		}
		if got := encodeCursor("NAME_DESC", v, benchID); got != base64.RawURLEncoding.EncodeToString(want) {
			raw, _ := base64.RawURLEncoding.DecodeString(got)
			t.Errorf("value %q: encoded %s, json.Marshal gives %s", v, raw, want)
		}
	}
}
