package model

import (
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
)

// TestMarshalCopiesOutOfThePool shows that Marshal's bytes are the marshaler's and stay as they
// are when the pooled buffer is used again.
func TestMarshalCopiesOutOfThePool(t *testing.T) {
	first := Marshal(graphql.MarshalString("first"))
	for range 10 {
		Marshal(graphql.MarshalString("second, longer than the first"))
	}
	if string(first) != `"first"` {
		t.Errorf("Marshal gave %s, want \"first\"", first)
	}
	big := strings.Repeat("y", 2*maxPooled)
	if got := Marshal(graphql.MarshalString(big)); len(got) != len(big)+2 {
		t.Errorf("Marshal of %d bytes gave %d", len(big)+2, len(got))
	}
}
