package db

import (
	"encoding/binary"
	"slices"

	"github.com/jackc/pgx/v5/pgtype"
)

// registerTextArray makes a connection encode []string parameters of type text[] in one piece.
// pgx encodes an array element by element through an interface (one allocation per string) into a
// parameter buffer that starts at 256 bytes and doubles as it fills; a batch capture sends about a
// megabyte of text arrays (names, raw payloads, event snapshots), and growing that buffer was a
// fifth of the bytes the server allocated. The array's size is known in advance, so the buffer grows
// once. The bytes are those of PostgreSQL's binary array format, as pgx writes them; anything else
// (other Go types, text format, decoding) is pgx's own codec.
func registerTextArray(m *pgtype.Map) {
	text, ok := m.TypeForOID(pgtype.TextOID)
	if !ok {
		return
	}
	m.RegisterType(&pgtype.Type{Name: "_text", OID: pgtype.TextArrayOID, Codec: textArrayCodec{&pgtype.ArrayCodec{ElementType: text}}})
}

// textArrayCodec is pgx's text[] codec with a direct plan for []string parameters.
type textArrayCodec struct{ *pgtype.ArrayCodec }

// PlanEncode encodes []string directly in binary, anything else as pgx does.
func (c textArrayCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	if _, ok := value.([]string); ok && format == pgtype.BinaryFormatCode {
		return encodeTextArray{}
	}
	return c.ArrayCodec.PlanEncode(m, oid, format, value)
}

type encodeTextArray struct{}

// Encode writes a one-dimensional array (lower bound 1, no NULLs) of text elements; nil is NULL and
// an empty slice the empty array (no dimensions).
func (encodeTextArray) Encode(value any, buf []byte) ([]byte, error) {
	ss := value.([]string)
	if ss == nil {
		return nil, nil
	}
	if len(ss) == 0 {
		buf = binary.BigEndian.AppendUint32(buf, 0) // no dimensions
		buf = binary.BigEndian.AppendUint32(buf, 0) // no NULL elements
		return binary.BigEndian.AppendUint32(buf, pgtype.TextOID), nil
	}
	size := 20
	for _, s := range ss {
		size += 4 + len(s)
	}
	buf = slices.Grow(buf, size)
	buf = binary.BigEndian.AppendUint32(buf, 1) // one dimension
	buf = binary.BigEndian.AppendUint32(buf, 0) // no NULL elements
	buf = binary.BigEndian.AppendUint32(buf, pgtype.TextOID)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(ss)))
	buf = binary.BigEndian.AppendUint32(buf, 1) // lower bound
	for _, s := range ss {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
		buf = append(buf, s...)
	}
	return buf, nil
}
