// Package leads holds the rules of a lead's lifecycle: which status changes are allowed.
package leads

import (
	"slices"
	"strings"

	"github.com/rapportcrm/rapport/internal/crm"
)

// transitions lists, for each status, the statuses a lead may move to by hand or by a rule.
// Converted is final; conversion itself goes through convertLead, never a plain status change.
var transitions = map[crm.LeadStatus][]crm.LeadStatus{
	crm.LeadNew:          {crm.LeadWorking, crm.LeadNurturing, crm.LeadQualified, crm.LeadDisqualified},
	crm.LeadWorking:      {crm.LeadNurturing, crm.LeadQualified, crm.LeadDisqualified},
	crm.LeadNurturing:    {crm.LeadWorking, crm.LeadQualified, crm.LeadDisqualified},
	crm.LeadQualified:    {crm.LeadWorking, crm.LeadNurturing, crm.LeadDisqualified},
	crm.LeadDisqualified: {crm.LeadWorking, crm.LeadNurturing},
	crm.LeadConverted:    {},
}

// Allowed returns the statuses a lead in status from may move to.
func Allowed(from crm.LeadStatus) []crm.LeadStatus { return transitions[from] }

// CheckTransition says whether a lead may move from one status to another; a disqualification needs
// a reason. The error names the allowed statuses.
func CheckTransition(from, to crm.LeadStatus, reason string) error {
	if to == crm.LeadConverted {
		return crm.Invalid("status", "A lead becomes CONVERTED only through convertLead.")
	}
	if _, known := transitions[to]; !known {
		return crm.Invalid("status", "Unknown status %q.", to)
	}
	if !slices.Contains(transitions[from], to) {
		allowed := make([]string, len(transitions[from]))
		for i, s := range transitions[from] {
			allowed[i] = strings.ToUpper(string(s))
		}
		if len(allowed) == 0 {
			return crm.Invalid("status", "A %s lead cannot change status.", strings.ToUpper(string(from)))
		}
		return crm.Invalid("status", "A %s lead can move to %s, not %s.", strings.ToUpper(string(from)),
			strings.Join(allowed, ", "), strings.ToUpper(string(to)))
	}
	if to == crm.LeadDisqualified && strings.TrimSpace(reason) == "" {
		return crm.Invalid("reason", "Disqualifying a lead needs a reason.")
	}
	return nil
}

// Open says whether a lead still counts as open work for its owner (for least-loaded routing and
// the SLA): not converted, disqualified or merged away.
func Open(s crm.LeadStatus) bool {
	return s != crm.LeadConverted && s != crm.LeadDisqualified
}
