package normalize

import (
	"strings"
	"time"
	_ "time/tzdata" // so that zone names resolve on machines without a zoneinfo database

	"github.com/rapportcrm/rapport/internal/crm"
)

// TimeZone checks an IANA time zone name such as Asia/Shanghai and returns it trimmed. The name must
// load with time.LoadLocation; "" and "Local" are refused because they mean the server's zone,
// which is not the organization's and changes with the machine. The tz database is embedded in the
// binary (time/tzdata), so every name Go knows is accepted even where the host has no zoneinfo.
func TimeZone(field, s string) (string, error) {
	s = strings.TrimFunc(s, isTrimmable)
	const hint = "send an IANA time zone name like Asia/Shanghai or Europe/Berlin"
	if s == "" || s == "Local" {
		return "", crm.Invalid(field, "The time zone must be named: %s.", hint)
	}
	if _, err := time.LoadLocation(s); err != nil {
		return "", crm.Invalid(field, "%s is not an IANA time zone name: %s.", quote(s), hint)
	}
	return s, nil
}
