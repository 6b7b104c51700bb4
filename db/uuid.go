package db

import (
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// registerUUID teaches a connection's type map to encode and scan github.com/google/uuid values
// (crm.ID) as the 16 bytes they are. Without it pgx finds no plan for uuid.UUID itself and goes
// through database/sql's interfaces: every parameter is formatted to text by UUID.Value and parsed
// back (after building an error for each plan it tried first), and every scanned ID is parsed from
// text by UUID.Scan. That was about a fifth of the allocations of a page of 50 contacts.
func registerUUID(m *pgtype.Map) {
	m.TryWrapEncodePlanFuncs = append([]pgtype.TryWrapEncodePlanFunc{wrapUUIDEncode}, m.TryWrapEncodePlanFuncs...)
	// Scanning needs the codec itself: pgx asks a value's codec before it looks for sql.Scanner
	// (which uuid.UUID is) and only then at wrapping functions.
	t := &pgtype.Type{Name: "uuid", OID: pgtype.UUIDOID, Codec: uuidCodec{}}
	m.RegisterType(t)
	m.RegisterType(&pgtype.Type{Name: "_uuid", OID: pgtype.UUIDArrayOID, Codec: &pgtype.ArrayCodec{ElementType: t}})
}

// uuidCodec is pgtype's UUID codec that also scans into a *uuid.UUID directly.
type uuidCodec struct{ pgtype.UUIDCodec }

// PlanScan implements pgtype.Codec.
func (c uuidCodec) PlanScan(m *pgtype.Map, oid uint32, format int16, target any) pgtype.ScanPlan {
	if _, ok := target.(*uuid.UUID); ok {
		if next := c.UUIDCodec.PlanScan(m, oid, format, (*pgUUID)(nil)); next != nil {
			return uuidScanPlan{next}
		}
	}
	return c.UUIDCodec.PlanScan(m, oid, format, target)
}

// pgUUID is a uuid.UUID that pgtype's UUID codec reads and writes directly.
type pgUUID uuid.UUID

// UUIDValue implements pgtype.UUIDValuer.
func (u pgUUID) UUIDValue() (pgtype.UUID, error) { return pgtype.UUID{Bytes: u, Valid: true}, nil }

// ScanUUID implements pgtype.UUIDScanner. NULL scans as the zero UUID (crm.NilID), as
// uuid.UUID's own Scan does.
func (u *pgUUID) ScanUUID(v pgtype.UUID) error {
	*u = v.Bytes // zero when NULL
	return nil
}

func wrapUUIDEncode(value any) (pgtype.WrappedEncodePlanNextSetter, any, bool) {
	if u, ok := value.(uuid.UUID); ok {
		return &uuidEncodePlan{}, pgUUID(u), true
	}
	return nil, nil, false
}

type uuidEncodePlan struct{ next pgtype.EncodePlan }

func (p *uuidEncodePlan) SetNext(next pgtype.EncodePlan) { p.next = next }

func (p *uuidEncodePlan) Encode(value any, buf []byte) ([]byte, error) {
	return p.next.Encode(pgUUID(value.(uuid.UUID)), buf)
}

type uuidScanPlan struct{ next pgtype.ScanPlan }

func (p uuidScanPlan) Scan(src []byte, target any) error {
	return p.next.Scan(src, (*pgUUID)(target.(*uuid.UUID)))
}
