package loadtest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// The servers a scenario can be sent to. Rapport is the server under test; the raw baseline
// (`rapport rawserve`) answers the read scenarios with the same SQL and JSON but no GraphQL layer,
// the physical ceiling; PostGraphile (tools/postgraphile) serves the same database through its
// generated schema, the peer.
const (
	TargetRapport      = "rapport"
	TargetRaw          = "raw"
	TargetPostGraphile = "postgraphile"
)

// RawPath is where the raw baseline serves a scenario: RawPath + its name.
const RawPath = "/raw/"

// PeerRequest is a scenario's equivalent request in another server's GraphQL schema.
type PeerRequest struct {
	// Query is the GraphQL document.
	Query string
	// Variables returns the variable sets to cycle through; nil means one request without
	// variables.
	Variables func(f Fixture) ([]map[string]any, error)
	// Check validates the data of a response before the run; nil accepts any data.
	Check func(data json.RawMessage) error
}

// ForTarget returns the scenario as it is sent to target, and false when target has no
// equivalent of it. Rapport gets it as it is; the raw baseline gets the same request at its own
// path; PostGraphile gets the scenario's PostGraphile request.
func (s Scenario) ForTarget(target string) (Scenario, bool) {
	switch target {
	case TargetRapport:
		return s, true
	case TargetRaw:
		s.Path = RawPath + s.Name
		return s, s.Raw
	case TargetPostGraphile:
		if s.PostGraphile == nil {
			return s, false
		}
		p := s.PostGraphile
		s.Query, s.Variables, s.Check = p.Query, p.Variables, p.Check
		return s, true
	}
	return s, false
}

// rowID returns the database ID inside a Rapport global ID (base64url of "Type:uuid"), which is
// what PostGraphile's lookups take.
func rowID(globalID string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(globalID)
	_, id, ok := strings.Cut(string(raw), ":")
	if err != nil || !ok {
		return "", fmt.Errorf("%q is not a Rapport global ID", globalID)
	}
	return id, nil
}

// tokenOrg returns the organization ("org" claim) of a Rapport token, without verifying it (the
// server does).
func tokenOrg(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("the token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("the token's payload: %w", err)
	}
	var claims struct {
		Org string `json:"org"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Org == "" {
		return "", errors.New("the token carries no organization")
	}
	return claims.Org, nil
}

// The PostGraphile equivalents of the read scenarios, in the schema PostGraphile v5's amber
// preset generates from Rapport's tables (tools/postgraphile; index behaviours off, so every column
// can order and filter). Lists order and filter as Rapport's do (creation time, live rows only);
// references are PostGraphile's relations over the composite (org_id, ...) foreign keys.
const (
	pgContactsPage = `query ContactsPage { allContacts(first: 50, orderBy: [CREATED_AT_ASC, ROW_ID_ASC], condition: {deletedAt: null}) { ` +
		`edges { cursor node { id name title emails phones accountByOrgIdAndAccountId { id name } userByOrgIdAndOwnerId { id name } } } ` +
		`pageInfo { hasNextPage endCursor } } }`
	pgRecordByID = `query Record($orgId: UUID!, $id: UUID!) { contactByOrgIdAndRowId(orgId: $orgId, rowId: $id) { ` +
		`id name title emails accountByOrgIdAndAccountId { name } } }`
	pgAccountsPage = `query AccountsPage { allAccounts(first: 50, orderBy: [CREATED_AT_ASC, ROW_ID_ASC], condition: {deletedAt: null}) { ` +
		`edges { cursor node { id name domain industry userByOrgIdAndOwnerId { id name } ` +
		`contactsByOrgIdAndAccountId(first: 5, orderBy: [NAME_ASC, ROW_ID_ASC], condition: {deletedAt: null}) { nodes { name } } } } ` +
		`pageInfo { hasNextPage endCursor } } }`
	// The primary contact is the deal's contact marked primary, as Rapport's primaryContact.
	pgOpportunitiesPage = `query OpportunitiesPage { allOpportunities(first: 50, orderBy: [CREATED_AT_ASC, ROW_ID_ASC], condition: {deletedAt: null}) { ` +
		`edges { cursor node { id name amount currency closeDate probability pipelineStageByOrgIdAndPipelineIdAndStageId { name } ` +
		`accountByOrgIdAndAccountId { name } userByOrgIdAndOwnerId { name } ` +
		`opportunityContactsByOrgIdAndOpportunityId(condition: {isPrimary: true}, first: 1) { nodes { contactByOrgIdAndContactId { name } } } } } ` +
		`pageInfo { hasNextPage endCursor } } }`
	// The board: the pipeline's live stages by position, each with its deal count and first 20
	// deals by close date with their owner. The amber preset has no aggregates, so the
	// per-currency sums of Rapport's board are missing here: PostGraphile's board does less work.
	pgPipelineBoard = `query PipelineBoard($orgId: UUID!, $pipelineId: UUID!) { pipelineByOrgIdAndRowId(orgId: $orgId, rowId: $pipelineId) { ` +
		`id name pipelineStagesByOrgIdAndPipelineId(orderBy: [POSITION_ASC], condition: {deletedAt: null}) { nodes { id name probability ` +
		`opportunitiesByOrgIdAndPipelineIdAndStageId(first: 20, orderBy: [CLOSE_DATE_ASC, ROW_ID_ASC], condition: {deletedAt: null}) { ` +
		`totalCount nodes { id name amount currency closeDate userByOrgIdAndOwnerId { name } } pageInfo { hasNextPage endCursor } } } } } }`
)

// pgRecordVariables are record-by-id's variable sets for PostGraphile: the fixture's contacts by
// organization and row ID.
func pgRecordVariables(f Fixture) ([]map[string]any, error) {
	if len(f.ContactIDs) == 0 {
		return nil, errors.New("no contacts to look up: run with --prepare")
	}
	if f.OrgID == "" {
		return nil, errors.New("the token names no organization (sign in as a user)")
	}
	sets := make([]map[string]any, len(f.ContactIDs))
	for i, gid := range f.ContactIDs {
		id, err := rowID(gid)
		if err != nil {
			return nil, err
		}
		sets[i] = map[string]any{"orgId": f.OrgID, "id": id}
	}
	return sets, nil
}

// pgBoardVariables is pipeline-board's variable set for PostGraphile.
func pgBoardVariables(f Fixture) ([]map[string]any, error) {
	if f.Pipeline.ID == "" || f.OrgID == "" {
		return nil, errors.New("the organization has no pipeline, or the token names no organization")
	}
	id, err := rowID(f.Pipeline.ID)
	if err != nil {
		return nil, err
	}
	return []map[string]any{{"orgId": f.OrgID, "pipelineId": id}}, nil
}
