package service

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/rapportcrm/rapport/internal/crm"
)

// JSON of the values every captured lead writes: its touch's raw payload (the input, when the
// caller sent none), its UTM and its event's snapshot. encoding/json spent a tenth of the server's
// time of a batch capture on them, mostly in reflection; these encoders write the same bytes
// (lead_json_test.go compares them with json.Marshal field by field), so stored payloads and
// snapshots do not change.

// leadInputJSON is json.Marshal(in).
func leadInputJSON(in *LeadInput) []byte {
	b := make([]byte, 0, 512)
	b = appendJSONField(b, '{', "Name", in.Name)
	b = appendJSONField(b, ',', "Title", in.Title)
	b = appendJSONField(b, ',', "Company", in.Company)
	b = appendJSONField(b, ',', "Email", in.Email)
	b = appendJSONField(b, ',', "Phone", in.Phone)
	b = appendJSONField(b, ',', "Website", in.Website)
	b = appendJSONField(b, ',', "RegistrationCode", in.RegistrationCode)
	b = appendJSONField(b, ',', "Industry", in.Industry)
	b = append(b, `,"CompanySize":`...)
	if in.CompanySize == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, int64(*in.CompanySize), 10)
	}
	b = appendJSONField(b, ',', "Country", in.Country)
	b = appendJSONField(b, ',', "Region", in.Region)
	b = appendJSONField(b, ',', "City", in.City)
	b = appendJSONField(b, ',', "Source", string(in.Source))
	b = appendJSONField(b, ',', "Campaign", in.Campaign)
	b = appendUTM(append(b, `,"UTM":`...), in.UTM)
	b = appendRawJSON(append(b, `,"Custom":`...), in.Custom)
	b = appendJSONField(b, ',', "VisitorID", in.VisitorID)
	b = appendRawJSON(append(b, `,"Payload":`...), in.Payload)
	b = appendJSONID(append(b, `,"FormID":`...), in.FormID)
	b = appendJSONID(append(b, `,"ImportID":`...), in.ImportID)
	b = strconv.AppendBool(append(b, `,"Spam":`...), in.Spam)
	b = strconv.AppendBool(append(b, `,"AllowPartial":`...), in.AllowPartial)
	b = appendJSONField(b, ',', "IdempotencyKey", in.IdempotencyKey)
	return append(b, '}')
}

// utmJSON is json.Marshal(u).
func utmJSON(u crm.UTM) []byte {
	return appendUTM(make([]byte, 0, 96), u)
}

// appendUTM appends json.Marshal(u): the parameters that are not empty.
func appendUTM(b []byte, u crm.UTM) []byte {
	e := omitzeroEncoder{b: b, sep: '{'}
	e.str("source", u.Source)
	e.str("medium", u.Medium)
	e.str("campaign", u.Campaign)
	e.str("term", u.Term)
	e.str("content", u.Content)
	return e.end()
}

// leadJSON is json.Marshal(l): the fields that are not zero (crm.Lead's tags say omitzero).
func leadJSON(l *crm.Lead) []byte {
	e := omitzeroEncoder{b: make([]byte, 0, 1024), sep: '{'}
	e.id("ID", l.ID)
	e.id("OrgID", l.OrgID)
	e.str("Status", string(l.Status))
	e.str("StatusReason", l.StatusReason)
	e.str("Name", l.Name)
	e.str("Title", l.Title)
	e.str("Company", l.Company)
	e.str("Email", l.Email)
	e.str("Phone", l.Phone)
	e.str("Website", l.Website)
	e.str("RegistrationCode", l.RegistrationCode)
	e.str("Industry", l.Industry)
	if l.CompanySize != nil {
		e.int("CompanySize", *l.CompanySize, true)
	}
	e.str("Country", l.Country)
	e.str("Region", l.Region)
	e.str("City", l.City)
	e.str("Source", string(l.Source))
	e.str("Campaign", l.Campaign)
	if l.UTM != (crm.UTM{}) {
		e.key("UTM")
		e.b = appendUTM(e.b, l.UTM)
	}
	e.id("OwnerID", l.OwnerID)
	e.id("TeamID", l.TeamID)
	e.timePtr("AssignedAt", l.AssignedAt)
	e.int("ScoreTotal", l.ScoreTotal, false)
	e.int("ScoreFit", l.ScoreFit, false)
	e.int("ScoreEngagement", l.ScoreEngagement, false)
	e.str("Grade", l.Grade)
	e.timePtr("QualifiedAt", l.QualifiedAt)
	e.timePtr("NurturedAt", l.NurturedAt)
	e.str("SLAState", string(l.SLAState))
	e.timePtr("SLADueAt", l.SLADueAt)
	e.timePtr("ContactedAt", l.ContactedAt)
	if l.Spam {
		e.key("Spam")
		e.b = append(e.b, "true"...)
	}
	e.int("TouchCount", l.TouchCount, false)
	e.time("FirstTouchAt", l.FirstTouchAt)
	e.time("LastTouchAt", l.LastTouchAt)
	e.timePtr("ConvertedAt", l.ConvertedAt)
	e.id("ContactID", l.ContactID)
	e.id("AccountID", l.AccountID)
	e.id("OpportunityID", l.OpportunityID)
	e.id("MergedIntoID", l.MergedIntoID)
	if l.Custom != nil {
		e.key("Custom")
		e.b = appendRawJSON(e.b, l.Custom)
	}
	e.time("CreatedAt", l.CreatedAt)
	e.time("UpdatedAt", l.UpdatedAt)
	e.timePtr("DeletedAt", l.DeletedAt)
	e.int("Version", l.Version, false)
	return e.end()
}

// omitzeroEncoder writes the fields of an object whose zero fields are left out.
type omitzeroEncoder struct {
	b   []byte
	sep byte // '{' before the first field, ',' after
}

// end closes the object ("{}" when no field was written) and returns the bytes.
func (e *omitzeroEncoder) end() []byte {
	if e.sep == '{' {
		e.b = append(e.b, '{')
	}
	return append(e.b, '}')
}

func (e *omitzeroEncoder) key(k string) {
	e.b = append(append(append(append(e.b, e.sep, '"'), k...), '"'), ':')
	e.sep = ','
}

func (e *omitzeroEncoder) str(k, v string) {
	if v != "" {
		e.key(k)
		e.b = appendMarshaledString(e.b, v)
	}
}

func (e *omitzeroEncoder) id(k string, v crm.ID) {
	if v != crm.NilID {
		e.key(k)
		e.b = appendJSONID(e.b, v)
	}
}

// int writes v, also when it is zero if always (a non-nil pointer's value).
func (e *omitzeroEncoder) int(k string, v int32, always bool) {
	if v != 0 || always {
		e.key(k)
		e.b = strconv.AppendInt(e.b, int64(v), 10)
	}
}

func (e *omitzeroEncoder) time(k string, t time.Time) {
	if !t.IsZero() {
		e.key(k)
		e.b = appendMarshaledTime(e.b, t)
	}
}

func (e *omitzeroEncoder) timePtr(k string, t *time.Time) {
	if t != nil {
		e.key(k)
		e.b = appendMarshaledTime(e.b, *t)
	}
}

// appendMarshaledTime is time.Time's MarshalJSON for the years it accepts (0..9999); other years, which
// no lead has, go through it too, to fail as it fails.
func appendMarshaledTime(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y > 9999 {
		return append(b, mustJSON(t)...)
	}
	return append(t.AppendFormat(append(b, '"'), time.RFC3339Nano), '"')
}

// appendJSONField appends sep, the quoted key (which needs no escaping) and the value as a JSON string.
func appendJSONField(b []byte, sep byte, key, value string) []byte {
	b = append(append(append(append(b, sep, '"'), key...), '"'), ':')
	return appendMarshaledString(b, value)
}

// appendRawJSON appends raw JSON as encoding/json writes a json.RawMessage: null when nil, else
// compacted (through encoding/json unless it is the empty object).
func appendRawJSON(b []byte, raw json.RawMessage) []byte {
	switch {
	case raw == nil:
		return append(b, "null"...)
	case string(raw) == "{}":
		return append(b, raw...)
	}
	return append(b, mustJSON(raw)...)
}
