package crm

import (
	"encoding/base64"
	"testing"
)

// TestGlobalIDIsBase64OfTypeAndUUID pins GlobalID to its definition, base64url("<Type>:<uuid>"),
// and its round trip through ParseGlobalID.
func TestGlobalIDIsBase64OfTypeAndUUID(t *testing.T) {
	ids := []ID{NilID, NewID(), NewID(), {0xff, 0xfe, 0x0a, 0x10, 0x00, 0x01, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc}}
	types := []string{TypeContact, TypeLeadImport, "Event", "", "AVeryLongTypeNameThatDoesNotFitTheBuffer"}
	for _, typ := range types {
		for _, id := range ids {
			want := base64.RawURLEncoding.EncodeToString([]byte(typ + ":" + id.String()))
			if got := GlobalID(typ, id); got != want {
				t.Errorf("GlobalID(%q, %s) = %q, want %q", typ, id, got, want)
			}
			if typ == "" {
				continue
			}
			gotTyp, gotID, ok := ParseGlobalID(GlobalID(typ, id))
			if !ok || gotTyp != typ || gotID != id {
				t.Errorf("ParseGlobalID(GlobalID(%q, %s)) = %q, %s, %v", typ, id, gotTyp, gotID, ok)
			}
		}
	}
}

// BenchmarkGlobalID measures a record's global ID, written for every record of a page.
func BenchmarkGlobalID(b *testing.B) {
	b.ReportAllocs()
	id := NewID()
	for b.Loop() {
		_ = GlobalID(TypeContact, id)
	}
}
