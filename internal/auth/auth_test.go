package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/auth"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func TestTokensRoundTripAndExpire(t *testing.T) {
	t.Parallel()
	tokens, err := auth.NewTokens(secret, time.Hour)
	require.NoError(t, err)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	claims := auth.Claims{OrgID: uuid.New(), UserID: uuid.New(), Role: "sales_rep"}
	tok, exp, err := tokens.Issue(claims, now, 0)
	require.NoError(t, err)
	require.Equal(t, now.Add(time.Hour), exp)

	got, err := tokens.Verify(tok, now.Add(59*time.Minute))
	require.NoError(t, err)
	require.Equal(t, claims.OrgID, got.OrgID)
	require.Equal(t, claims.UserID, got.UserID)
	require.Equal(t, "sales_rep", got.Role)
	again, err := tokens.Verify(tok, now.Add(59*time.Minute+59*time.Second))
	require.NoError(t, err)
	require.Equal(t, got, again, "a verified token is remembered with its claims")

	_, err = tokens.Verify(tok, now.Add(61*time.Minute))
	require.ErrorIs(t, err, auth.ErrExpired, "a remembered token still expires")

	other, err := auth.NewTokens([]byte("another-secret-another-secret-0000"), time.Hour)
	require.NoError(t, err)
	_, err = other.Verify(tok, now)
	require.Error(t, err, "a token signed with another secret is rejected")

	parts := strings.Split(tok, ".")
	_, err = tokens.Verify(parts[0]+"."+parts[1]+".", now)
	require.Error(t, err, "an unsigned token is rejected")

	none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": auth.Issuer, "sub": claims.UserID.String(),
		"org": claims.OrgID.String(), "role": "admin", "exp": now.Add(time.Hour).Unix()})
	unsigned, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)
	_, err = tokens.Verify(unsigned, now)
	require.Error(t, err, "alg=none is rejected")

	_, err = auth.NewTokens([]byte("short"), time.Hour)
	require.Error(t, err)
}

func TestPasswordHashes(t *testing.T) {
	t.Parallel()
	h, err := auth.HashPassword("correct horse battery 电池")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(h, "$argon2id$"))
	require.True(t, auth.CheckPassword(h, "correct horse battery 电池"))
	require.False(t, auth.CheckPassword(h, "correct horse battery"))
	h2, err := auth.HashPassword("correct horse battery 电池")
	require.NoError(t, err)
	require.NotEqual(t, h, h2, "every hash has its own salt")
	for _, bad := range []string{"", "plain", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAA", "$argon2i$v=19$m=1,t=1,p=1$AAAA$AAAA"} {
		require.False(t, auth.CheckPassword(bad, "x"), bad)
	}
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	key, prefix, hash := auth.NewAPIKey()
	require.True(t, strings.HasPrefix(key, "rk_"+prefix+"_"))
	p, secret, ok := auth.SplitAPIKey(key)
	require.True(t, ok)
	require.Equal(t, prefix, p)
	require.True(t, auth.SecretMatches(secret, hash))
	require.False(t, auth.SecretMatches(secret+"x", hash))
	for _, bad := range []string{"", "rk_", "rk_abc_def", "xx_" + key[3:], key + "x"} {
		_, _, ok := auth.SplitAPIKey(bad)
		require.False(t, ok, bad)
	}
}
