package service_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/auth"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

// fakeIssuer is an OpenID Connect issuer serving discovery and its signing key (JWKS).
type fakeIssuer struct {
	srv *httptest.Server
	key *rsa.PrivateKey
}

func newFakeIssuer(t *testing.T) *fakeIssuer {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	f := &fakeIssuer{key: key}
	mux := http.NewServeMux()
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": f.srv.URL, "jwks_uri": f.srv.URL + "/jwks",
			"authorization_endpoint": f.srv.URL + "/auth", "id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	return f
}

func (f *fakeIssuer) token(t *testing.T, key *rsa.PrivateKey, email string, exp time.Time) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": f.srv.URL, "aud": "rapport", "sub": "ext-1",
		"email": email, "email_verified": true, "exp": exp.Unix(), "iat": time.Now().Unix()})
	tok.Header["kid"] = "k1"
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

func TestExternalOIDCTokensMapToUsersByVerifiedEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	issuer := newFakeIssuer(t)
	oidc, err := auth.NewOIDC(e.ctx, issuer.srv.URL, "rapport")
	require.NoError(t, err)
	tokens, err := auth.NewTokens([]byte("test-secret-test-secret-test-secret!!"), time.Hour)
	require.NoError(t, err)
	svc := service.New(service.Deps{Pool: e.pool, Tokens: tokens, OIDC: oidc})

	a, err := svc.Authenticate(e.ctx, issuer.token(t, issuer.key, "rep1@acme.test", time.Now().Add(time.Hour)))
	require.NoError(t, err)
	require.Equal(t, e.rep1.UserID, a.UserID)
	require.Equal(t, crm.RoleSalesRep, a.Role)

	_, err = svc.Authenticate(e.ctx, issuer.token(t, issuer.key, "rep1@acme.test", time.Now().Add(-time.Minute)))
	requireCode(t, err, crm.EUNAUTHENTICATED)
	forger, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	_, err = svc.Authenticate(e.ctx, issuer.token(t, forger, "rep1@acme.test", time.Now().Add(time.Hour)))
	requireCode(t, err, crm.EUNAUTHENTICATED)
	_, err = svc.Authenticate(e.ctx, issuer.token(t, issuer.key, "stranger@elsewhere.test", time.Now().Add(time.Hour)))
	requireCode(t, err, crm.EUNAUTHENTICATED)
}
