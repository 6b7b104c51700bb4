package crm

import (
	"encoding/base64"
	"strings"
)

// GlobalID is the opaque identifier clients see for a record: base64url("<Type>:<uuid>"). The type
// lets any record be fetched by ID alone (node(id:)) and every argument check it got the kind of ID
// it expects.
//
// It is written on the stack and allocates only the result: every record of a page has one.
func GlobalID(typ string, id ID) string {
	var raw [64]byte
	if len(typ)+1+36 > len(raw) {
		return base64.RawURLEncoding.EncodeToString([]byte(typ + ":" + id.String()))
	}
	b := append(append(raw[:0], typ...), ':')
	b = appendUUID(b, id)
	var out [86]byte // base64 of 64 bytes, unpadded
	n := base64.RawURLEncoding.EncodedLen(len(b))
	base64.RawURLEncoding.Encode(out[:n], b)
	return string(out[:n])
}

// appendUUID appends id's canonical text form (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, lower case),
// as id.String() writes it.
func appendUUID(b []byte, id ID) []byte {
	const digits = "0123456789abcdef"
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, digits[c>>4], digits[c&0x0f])
	}
	return b
}

// ParseGlobalID decodes a GlobalID into its type and ID; ok is false for anything else.
func ParseGlobalID(s string) (typ string, id ID, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", NilID, false
	}
	typ, rest, found := strings.Cut(string(raw), ":")
	if !found || typ == "" {
		return "", NilID, false
	}
	id, err = ParseID(rest)
	return typ, id, err == nil
}

// GlobalID returns the organization's global ID.
func (o Organization) GlobalID() string { return GlobalID(TypeOrganization, o.ID) }

// GlobalID returns the user's global ID.
func (u User) GlobalID() string { return GlobalID(TypeUser, u.ID) }

// GlobalID returns the team's global ID.
func (t Team) GlobalID() string { return GlobalID(TypeTeam, t.ID) }

// GlobalID returns the API key's global ID.
func (k APIKey) GlobalID() string { return GlobalID(TypeAPIKey, k.ID) }

// GlobalID returns the account's global ID.
func (a Account) GlobalID() string { return GlobalID(TypeAccount, a.ID) }

// GlobalID returns the contact's global ID.
func (c Contact) GlobalID() string { return GlobalID(TypeContact, c.ID) }

// GlobalID returns the event's global ID.
func (e Event) GlobalID() string { return GlobalID("Event", e.ID) }

// GlobalID returns the pipeline's global ID.
func (p Pipeline) GlobalID() string { return GlobalID(TypePipeline, p.ID) }

// GlobalID returns the stage's global ID.
func (s Stage) GlobalID() string { return GlobalID(TypeStage, s.ID) }

// GlobalID returns the opportunity's global ID.
func (o Opportunity) GlobalID() string { return GlobalID(TypeOpportunity, o.ID) }

// GlobalID returns the activity's global ID.
func (a Activity) GlobalID() string { return GlobalID(TypeActivity, a.ID) }

// GlobalID returns the task's global ID.
func (t Task) GlobalID() string { return GlobalID(TypeTask, t.ID) }

// GlobalID returns the notification's global ID.
func (n Notification) GlobalID() string { return GlobalID(TypeNotification, n.ID) }

// GlobalID returns the lead's global ID.
func (l Lead) GlobalID() string { return GlobalID(TypeLead, l.ID) }
