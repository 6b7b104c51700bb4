package normalize

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
)

// requireInvalid asserts that err is an EINVALID *crm.Error on field whose message contains want.
func requireInvalid(t testing.TB, err error, field, want string) {
	t.Helper()
	var e *crm.Error
	require.True(t, errors.As(err, &e), "want a *crm.Error, got %v", err)
	require.Equal(t, crm.EINVALID, e.Code)
	require.Equal(t, field, e.Field)
	require.Contains(t, e.Message, want)
}

// fuzzNormalizer checks the properties every normalizer has, whatever the input: it does not panic,
// it fails only with an EINVALID error on its field whose message is valid UTF-8, and normalizing
// its output gives the output back.
func fuzzNormalizer(t *testing.T, field string, normalize func(string) (string, error), s string) string {
	out, err := normalize(s)
	if err != nil {
		var e *crm.Error
		require.True(t, errors.As(err, &e), "want a *crm.Error, got %v", err)
		require.Equal(t, crm.EINVALID, e.Code)
		require.Equal(t, field, e.Field)
		require.True(t, utf8.ValidString(e.Message), "message %q", e.Message)
		require.Empty(t, out)
		return ""
	}
	again, err := normalize(out)
	require.NoError(t, err, "normalizing %q gave %q, which is refused", s, out)
	require.Equal(t, out, again, "normalizing %q is not idempotent", s)
	return out
}
