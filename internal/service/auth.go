package service

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/auth"
	"github.com/rapportcrm/rapport/internal/crm"
)

// Session is the result of a successful login.
type Session struct {
	Token     string
	ExpiresAt time.Time
	User      crm.User
}

// errNoTokens is returned by token operations of a service built without a token signer (the
// seed command, which signs nothing).
var errNoTokens = crm.Errorf(crm.EINTERNAL, "This process cannot sign or check tokens.")

// dummyHash is checked when no user matches, so a login takes as long whether or not the e-mail
// exists and response times reveal nothing.
var dummyHash, _ = auth.HashPassword("rapport-dummy-password")

// Login checks a user's e-mail and password and issues a token. organization (a slug) is needed
// only when the same e-mail and password open accounts in several organizations.
func (s *Service) Login(ctx context.Context, email, password, organization string) (Session, error) {
	if s.tokens == nil {
		return Session{}, errNoTokens
	}
	email = strings.ToLower(strings.TrimSpace(email))
	wrong := crm.Errorf(crm.EUNAUTHENTICATED, "The e-mail or password is wrong.")
	if email == "" || password == "" || len(password) > 1024 {
		return Session{}, wrong
	}
	var candidates []query.FindLoginUsersRow
	err := db.AsSystem(ctx, s.pool, func(tx pgx.Tx) (err error) {
		candidates, err = query.New(tx).FindLoginUsers(ctx, email)
		return err
	})
	if err != nil {
		return Session{}, err
	}
	var matched []query.FindLoginUsersRow
	for _, c := range candidates {
		if (organization == "" || c.Slug == organization) && c.PasswordHash != nil && auth.CheckPassword(*c.PasswordHash, password) {
			matched = append(matched, c)
		}
	}
	if len(candidates) == 0 {
		auth.CheckPassword(dummyHash, password)
	}
	switch {
	case len(matched) == 0:
		return Session{}, wrong
	case len(matched) > 1:
		slugs := make([]string, len(matched))
		for i, m := range matched {
			slugs[i] = m.Slug
		}
		return Session{}, crm.Invalid("organization", "This e-mail belongs to several organizations: pass organization, one of %s.", strings.Join(slugs, ", "))
	case !matched[0].Active:
		return Session{}, crm.Errorf(crm.EUNAUTHENTICATED, "This user is deactivated; ask an administrator.")
	}
	m := matched[0]
	a := &crm.Actor{Kind: crm.ActorUser, OrgID: m.OrgID, UserID: m.ID, Role: crm.Role(m.Role)}
	user, err := s.Viewer(ctx, a)
	if err != nil {
		return Session{}, err
	}
	token, exp, err := s.tokens.Issue(auth.Claims{OrgID: m.OrgID, UserID: m.ID, Role: m.Role}, s.clock(), 0)
	return Session{Token: token, ExpiresAt: exp, User: user}, err
}

// IssueToken signs a token for a user named by organization slug and e-mail, without a password.
// It is for operators (the `rapport token` command) who already hold database access.
func (s *Service) IssueToken(ctx context.Context, organization, email string, ttl time.Duration) (Session, error) {
	if s.tokens == nil {
		return Session{}, errNoTokens
	}
	var user query.GetUsersRow
	err := db.AsSystem(ctx, s.pool, func(tx pgx.Tx) error {
		q := query.New(tx)
		org, err := q.GetOrganizationBySlug(ctx, organization)
		if err != nil {
			return crm.Errorf(crm.ENOTFOUND, "No organization %q.", organization)
		}
		row, err := q.GetUserByEmail(ctx, query.GetUserByEmailParams{OrgID: org.ID, Email: strings.ToLower(strings.TrimSpace(email))})
		if err != nil {
			return crm.Errorf(crm.ENOTFOUND, "No user %q in organization %q.", email, organization)
		}
		user = query.GetUsersRow(row)
		return nil
	})
	if err != nil {
		return Session{}, err
	}
	token, exp, err := s.tokens.Issue(auth.Claims{OrgID: user.OrgID, UserID: user.ID, Role: user.Role}, s.clock(), ttl)
	return Session{Token: token, ExpiresAt: exp, User: userFromRow(user)}, err
}

// Authenticate turns a bearer credential into an actor: an API key ("rk_..."), a token of the
// configured external OIDC issuer, or a Rapport token.
func (s *Service) Authenticate(ctx context.Context, bearer string) (*crm.Actor, error) {
	if strings.HasPrefix(bearer, auth.APIKeyPrefix) {
		return s.authenticateAPIKey(ctx, bearer)
	}
	if s.oidc != nil && auth.TokenIssuer(bearer) == s.oidc.Issuer() {
		return s.authenticateOIDC(ctx, bearer)
	}
	if s.tokens == nil {
		return nil, errNoTokens
	}
	claims, err := s.tokens.Verify(bearer, s.clock())
	if err != nil {
		return nil, crm.Errorf(crm.EUNAUTHENTICATED, "%s", capitalize(err.Error()))
	}
	role := crm.Role(claims.Role)
	if !role.Valid() {
		return nil, crm.Errorf(crm.EUNAUTHENTICATED, "The token is not valid: unknown role.")
	}
	return &crm.Actor{Kind: crm.ActorUser, OrgID: claims.OrgID, UserID: claims.UserID, Role: role}, nil
}

// apiKeyTouchInterval limits how often a key's last-used time is written.
const apiKeyTouchInterval = time.Minute

func (s *Service) authenticateAPIKey(ctx context.Context, key string) (*crm.Actor, error) {
	invalid := crm.Errorf(crm.EUNAUTHENTICATED, "The API key is not valid.")
	prefix, secret, ok := auth.SplitAPIKey(key)
	if !ok {
		return nil, invalid
	}
	var actor *crm.Actor
	err := db.AsSystem(ctx, s.pool, func(tx pgx.Tx) error {
		q := query.New(tx)
		k, err := q.FindAPIKey(ctx, prefix)
		if err != nil || !auth.SecretMatches(secret, k.SecretHash) {
			return invalid
		}
		now := s.now()
		if k.RevokedAt != nil {
			return crm.Errorf(crm.EUNAUTHENTICATED, "The API key was revoked; create a new one.")
		}
		if k.ExpiresAt != nil && !k.ExpiresAt.After(now) {
			return crm.Errorf(crm.EUNAUTHENTICATED, "The API key expired; create a new one.")
		}
		actor = &crm.Actor{Kind: crm.ActorAPIKey, OrgID: k.OrgID, APIKeyID: k.ID, Scopes: k.Scopes}
		if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) > apiKeyTouchInterval {
			return q.TouchAPIKey(ctx, query.TouchAPIKeyParams{OrgID: k.OrgID, ID: k.ID, Now: &now})
		}
		return nil
	})
	return actor, err
}

func (s *Service) authenticateOIDC(ctx context.Context, token string) (*crm.Actor, error) {
	email, err := s.oidc.Verify(ctx, token)
	if err != nil {
		return nil, crm.Errorf(crm.EUNAUTHENTICATED, "%s", capitalize(err.Error()))
	}
	var users []query.FindLoginUsersRow
	err = db.AsSystem(ctx, s.pool, func(tx pgx.Tx) (err error) {
		users, err = query.New(tx).FindLoginUsers(ctx, strings.ToLower(email))
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(users) != 1 || !users[0].Active {
		return nil, crm.Errorf(crm.EUNAUTHENTICATED, "No single active Rapport user has the e-mail %s.", email)
	}
	u := users[0]
	return &crm.Actor{Kind: crm.ActorUser, OrgID: u.OrgID, UserID: u.ID, Role: crm.Role(u.Role)}, nil
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:] + "."
}
