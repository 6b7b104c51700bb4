package service

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/auth"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
	"github.com/rapportcrm/rapport/internal/rules/normalize"
)

// APIKeyInput is an API key to create.
type APIKeyInput struct {
	Name      string
	Scopes    []string
	ExpiresAt *time.Time
}

// CreateAPIKey creates an API key (admins only) and returns it with its secret, which is shown
// this once and stored only as a hash.
func (s *Service) CreateAPIKey(ctx context.Context, a *crm.Actor, in APIKeyInput) (k crm.APIKey, secret string, err error) {
	if err := authorize(a, access.APIKeysManage); err != nil {
		return k, "", err
	}
	name, err := normalize.Text("name", in.Name, 100)
	if err != nil {
		return k, "", err
	}
	if name == "" {
		return k, "", crm.Invalid("name", "Name the key after what uses it, e.g. \"BI export\".")
	}
	if len(in.Scopes) == 0 {
		return k, "", crm.Invalid("scopes", "Grant the key at least one scope.")
	}
	scopes := make([]string, 0, len(in.Scopes))
	for _, sc := range in.Scopes {
		p, err := access.ParseScope(sc)
		if err != nil {
			return k, "", err
		}
		scopes = union(scopes, []string{string(p)})
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(s.clock()) {
		return k, "", crm.Invalid("expiresAt", "The expiry must be in the future.")
	}
	key, prefix, hash := auth.NewAPIKey()
	err = s.write(ctx, a, func(w *writer) error {
		k = crm.APIKey{ID: crm.NewID(), OrgID: a.OrgID, Name: name, Prefix: prefix, Scopes: scopes,
			CreatedBy: a.UserID, CreatedAt: w.now, ExpiresAt: in.ExpiresAt}
		if err := w.q.CreateAPIKey(w.ctx, query.CreateAPIKeyParams{OrgID: a.OrgID, ID: k.ID, Name: name, Prefix: prefix,
			SecretHash: hash, Scopes: scopes, CreatedBy: idOrNil(a.UserID), Now: w.now, ExpiresAt: in.ExpiresAt}); err != nil {
			return err
		}
		w.emit("api_key.created", crm.TypeAPIKey, k.ID, diff(nil, fields{"name": name, "prefix": prefix, "scopes": scopes, "expiresAt": in.ExpiresAt}))
		return nil
	})
	return k, key, err
}

// ListAPIKeys returns the organization's API keys, newest first (admins only).
func (s *Service) ListAPIKeys(ctx context.Context, a *crm.Actor) ([]crm.APIKey, error) {
	if err := authorize(a, access.APIKeysManage); err != nil {
		return nil, err
	}
	var keys []crm.APIKey
	err := s.read(ctx, a, func(q *query.Queries) error {
		rows, err := q.ListAPIKeys(ctx, a.OrgID)
		for _, r := range rows {
			keys = append(keys, apiKeyFromRow(query.RevokeAPIKeyRow(r)))
		}
		return err
	})
	return keys, err
}

// RevokeAPIKey revokes a key at once; requests with it fail from then on. Revoking twice is harmless.
func (s *Service) RevokeAPIKey(ctx context.Context, a *crm.Actor, id crm.ID) (k crm.APIKey, err error) {
	if err := authorize(a, access.APIKeysManage); err != nil {
		return k, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		row, err := w.q.RevokeAPIKey(w.ctx, query.RevokeAPIKeyParams{OrgID: a.OrgID, ID: id, Now: &w.now})
		if errors.Is(err, pgx.ErrNoRows) {
			return crm.NotFound("API key", id)
		} else if err != nil {
			return err
		}
		k = apiKeyFromRow(row)
		if k.RevokedAt.Equal(w.now) {
			w.emit("api_key.revoked", crm.TypeAPIKey, id, []crm.FieldChange{{Field: "revokedAt", After: mustJSON(w.now)}})
		}
		return nil
	})
	return k, err
}

func apiKeyFromRow(r query.RevokeAPIKeyRow) crm.APIKey {
	return crm.APIKey{ID: r.ID, OrgID: r.OrgID, Name: r.Name, Prefix: r.Prefix, Scopes: r.Scopes,
		CreatedBy: idOf(r.CreatedBy), CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, LastUsedAt: r.LastUsedAt,
		RevokedAt: r.RevokedAt}
}

// APIKeys returns the organization's API keys with the given IDs, in order (zero keys for unknown
// IDs); admins only.
func (s *Service) APIKeys(ctx context.Context, a *crm.Actor, ids []crm.ID) ([]crm.APIKey, error) {
	all, err := s.ListAPIKeys(ctx, a)
	if err != nil {
		return nil, err
	}
	return inOrder(all, ids, func(k crm.APIKey) crm.ID { return k.ID }), nil
}
