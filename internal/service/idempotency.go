package service

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
)

// maxIdempotencyKey bounds the key a client may send.
const maxIdempotencyKey = 255

// idempotent runs create under an idempotency key. The first request with a key claims it in its
// own transaction and creates the record with the ID it claimed; a retry with the same key and the
// same input gets that record's ID back (replayed=true) without creating anything; the same key with
// a different input is a CONFLICT. A concurrent duplicate waits on the claim's row lock, so exactly
// one of them creates. A failed create rolls the claim back, so the client may retry with the key.
func (w *writer) idempotent(key, operation string, input any, ttl time.Duration, create func(id crm.ID) error) (id crm.ID, replayed bool, err error) {
	id = crm.NewID()
	if key == "" {
		return id, false, create(id)
	}
	if len(key) > maxIdempotencyKey {
		return id, false, crm.Invalid("idempotencyKey", "The idempotency key is longer than %d characters.", maxIdempotencyKey)
	}
	body, err := json.Marshal(input)
	if err != nil {
		return id, false, err
	}
	sum := sha256.Sum256(append([]byte(operation+"\x00"), body...))
	principal := w.actor.ID()
	claim := query.ClaimIdempotencyKeyParams{
		OrgID: w.actor.OrgID, PrincipalID: principal, Key: key, Operation: operation, RequestHash: sum[:],
		RecordID: id, Now: w.now, ExpiresAt: w.now.Add(ttl),
	}
	if _, err := w.q.ClaimIdempotencyKey(w.ctx, claim); err == nil {
		return id, false, create(id)
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return id, false, err
	}
	prev, err := w.q.GetIdempotencyKey(w.ctx, query.GetIdempotencyKeyParams{OrgID: w.actor.OrgID, PrincipalID: principal, Key: key})
	if err != nil {
		return id, false, err
	}
	if prev.ExpiresAt.Before(w.now) {
		// Expired but not yet swept: the key is free again.
		if err := w.q.DeleteIdempotencyKey(w.ctx, query.DeleteIdempotencyKeyParams{OrgID: w.actor.OrgID, PrincipalID: principal, Key: key}); err != nil {
			return id, false, err
		}
		if _, err := w.q.ClaimIdempotencyKey(w.ctx, claim); err != nil {
			return id, false, err
		}
		return id, false, create(id)
	}
	if prev.Operation != operation || !bytes.Equal(prev.RequestHash, sum[:]) {
		return id, false, crm.Errorf(crm.ECONFLICT,
			"The idempotency key %q was already used for a different request; use a new key for a new request.", key)
	}
	return prev.RecordID, true, nil
}
