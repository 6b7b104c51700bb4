package db

import (
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// registerUUID makes a connection encode and decode uuid.UUID (crm.ID) as its 16 raw bytes. Left
// alone, pgx reaches uuid.UUID through driver.Valuer and sql.Scanner: every ID is formatted to text
// and parsed back, one allocation each way, for every parameter, array element and column; on the
// capture path that was a tenth of the server's CPU.
func registerUUID(m *pgtype.Map) {
	t := &pgtype.Type{Name: "uuid", OID: pgtype.UUIDOID, Codec: uuidCodec{}}
	m.RegisterType(t)
	m.RegisterType(&pgtype.Type{Name: "_uuid", OID: pgtype.UUIDArrayOID, Codec: &pgtype.ArrayCodec{ElementType: t}})
}

// uuidCodec is pgx's UUID codec with direct plans for uuid.UUID values and targets.
type uuidCodec struct{ pgtype.UUIDCodec }

// PlanEncode encodes uuid.UUID directly, anything else as pgx does.
func (c uuidCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	if _, ok := value.(uuid.UUID); ok && format == pgtype.BinaryFormatCode {
		return encodeUUID{}
	}
	return c.UUIDCodec.PlanEncode(m, oid, format, value)
}

// PlanScan decodes into *uuid.UUID directly, anything else as pgx does.
func (c uuidCodec) PlanScan(m *pgtype.Map, oid uint32, format int16, target any) pgtype.ScanPlan {
	if _, ok := target.(*uuid.UUID); ok && format == pgtype.BinaryFormatCode {
		return scanUUID{}
	}
	return c.UUIDCodec.PlanScan(m, oid, format, target)
}

type encodeUUID struct{}

func (encodeUUID) Encode(value any, buf []byte) ([]byte, error) {
	u := value.(uuid.UUID)
	return append(buf, u[:]...), nil
}

type scanUUID struct{}

func (scanUUID) Scan(src []byte, dst any) error {
	if src == nil { // NULL is the zero ID, as uuid.UUID's own Scan has it
		*dst.(*uuid.UUID) = uuid.UUID{}
		return nil
	}
	if len(src) != 16 {
		return errors.New("invalid length for UUID")
	}
	copy(dst.(*uuid.UUID)[:], src)
	return nil
}
