package db

import (
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// registerUUID teaches a connection's type map to send and read crm.ID (uuid.UUID) as the 16 bytes
// of PostgreSQL's binary uuid. Left alone, pgx treats uuid.UUID as a driver.Valuer and a
// sql.Scanner: every ID is formatted as text, parsed back and only then encoded, which was a third
// of the client CPU of a rescore (arrays of thousands of IDs per statement).
func registerUUID(m *pgtype.Map) {
	m.TryWrapEncodePlanFuncs = append([]pgtype.TryWrapEncodePlanFunc{wrapUUIDEncode}, m.TryWrapEncodePlanFuncs...)
	m.TryWrapScanPlanFuncs = append([]pgtype.TryWrapScanPlanFunc{wrapUUIDScan}, m.TryWrapScanPlanFuncs...)
}

func wrapUUIDEncode(value any) (pgtype.WrappedEncodePlanNextSetter, any, bool) {
	if u, ok := value.(uuid.UUID); ok {
		return &uuidEncodePlan{}, pgtype.UUID{Bytes: u, Valid: true}, true
	}
	return nil, nil, false
}

type uuidEncodePlan struct{ next pgtype.EncodePlan }

func (p *uuidEncodePlan) SetNext(next pgtype.EncodePlan) { p.next = next }

func (p *uuidEncodePlan) Encode(value any, buf []byte) ([]byte, error) {
	return p.next.Encode(pgtype.UUID{Bytes: value.(uuid.UUID), Valid: true}, buf)
}

func wrapUUIDScan(target any) (pgtype.WrappedScanPlanNextSetter, any, bool) {
	if u, ok := target.(*uuid.UUID); ok {
		return &uuidScanPlan{}, (*uuidScanner)(u), true
	}
	return nil, nil, false
}

// uuidScanner receives a uuid without the text round trip. NULL gives the nil UUID, as uuid.UUID's
// own Scan does (nullable columns scan into *uuid.UUID, which pgx handles before this).
type uuidScanner uuid.UUID

func (u *uuidScanner) ScanUUID(v pgtype.UUID) error {
	*u = v.Bytes // zero when NULL
	return nil
}

type uuidScanPlan struct{ next pgtype.ScanPlan }

func (p *uuidScanPlan) SetNext(next pgtype.ScanPlan) { p.next = next }

func (p *uuidScanPlan) Scan(src []byte, target any) error {
	return p.next.Scan(src, (*uuidScanner)(target.(*uuid.UUID)))
}
