package service

import (
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/scoring"
)

// A lead's score ledger is stored as one JSON array (lead_score_ledgers.entries, migration 00007):
// one object per award, in the order scoring.Set.Evaluate gives them (fit by rule, then engagement
// by event time). ledgerEntry is the shape of one object; "event" and "expires" are left out when
// there is none (fit points, no decay).
type ledgerEntry struct {
	Rule    crm.ID       `json:"rule"`
	Version int32        `json:"version"`
	Event   crm.ID       `json:"event"`
	Part    scoring.Part `json:"part"`
	Points  int32        `json:"points"`
	Reason  string       `json:"reason"`
	At      time.Time    `json:"at"`
	Expires time.Time    `json:"expires"`
}

// parseLedger reads a stored ledger into awards, with times in UTC (ledgers converted by migration
// 00007 wrote them with the offset of the session's time zone).
func parseLedger(data []byte) ([]scoring.Award, error) {
	var entries []ledgerEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, err
	}
	out := make([]scoring.Award, len(entries))
	for i, e := range entries {
		out[i] = scoring.Award{RuleID: e.Rule, RuleVersion: e.Version, EventID: e.Event, Part: e.Part, Points: e.Points,
			Reason: e.Reason, AwardedAt: e.At.UTC(), ExpiresAt: e.Expires.UTC()}
	}
	return out, nil
}

// appendLedger appends awards as a stored ledger (the JSON parseLedger reads) and returns the
// earliest expiry among them (zero: none expires). It is written by hand: a rescore encodes millions
// of entries, and reflection was most of the cost.
func appendLedger(b []byte, awards []scoring.Award) ([]byte, time.Time) {
	var first time.Time
	b = append(b, '[')
	for i := range awards {
		a := &awards[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"rule":`...)
		b = appendJSONID(b, a.RuleID)
		b = append(b, `,"version":`...)
		b = strconv.AppendInt(b, int64(a.RuleVersion), 10)
		if a.EventID != crm.NilID {
			b = append(b, `,"event":`...)
			b = appendJSONID(b, a.EventID)
		}
		b = append(b, `,"part":`...)
		b = appendJSONString(b, string(a.Part))
		b = append(b, `,"points":`...)
		b = strconv.AppendInt(b, int64(a.Points), 10)
		b = append(b, `,"reason":`...)
		b = appendJSONString(b, a.Reason)
		b = append(b, `,"at":`...)
		b = appendJSONTime(b, a.AwardedAt)
		if !a.ExpiresAt.IsZero() {
			b = append(b, `,"expires":`...)
			b = appendJSONTime(b, a.ExpiresAt)
			if first.IsZero() || a.ExpiresAt.Before(first) {
				first = a.ExpiresAt
			}
		}
		b = append(b, '}')
	}
	return append(b, ']'), first
}

func appendJSONID(b []byte, id crm.ID) []byte {
	var s [36]byte
	hex.Encode(s[0:8], id[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], id[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], id[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], id[8:10])
	s[23] = '-'
	hex.Encode(s[24:], id[10:])
	b = append(b, '"')
	b = append(b, s[:]...)
	return append(b, '"')
}

func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendJSONString appends s as a JSON string: quotes, backslashes and control characters escaped,
// invalid UTF-8 and NUL replaced (PostgreSQL's text and jsonb refuse them), everything else as it is.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i += size
				start = i
				continue
			}
			i += size
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case 0:
			b = append(b, `\ufffd`...)
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
