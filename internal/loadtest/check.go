package loadtest

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
)

// CheckResponse reports why a GraphQL-over-HTTP response does not count as a success: an HTTP
// status other than 200, a body that is not a JSON object, or a top-level "errors" member that is
// neither null nor empty. A GraphQL error usually comes with status 200, so the status alone would
// let a benchmark measure error responses without noticing.
//
// It scans the body once without decoding it, so that checking every response of a run costs the
// load generator little CPU (it shares the machine with the server more often than not).
func CheckResponse(status int, body []byte) error {
	if status != http.StatusOK {
		return fmt.Errorf("HTTP %d: %s", status, excerpt(body))
	}
	bad, err := hasTopLevelErrors(body)
	if err != nil {
		return fmt.Errorf("%w: %s", err, excerpt(body))
	}
	if bad {
		return fmt.Errorf("GraphQL errors: %s", excerpt(body))
	}
	return nil
}

var errNotObject = errors.New("the body is not a JSON object")

// hasTopLevelErrors reports whether the JSON object body has an "errors" member whose value is not
// null or an empty array. It tracks only nesting and strings, which is all it takes to tell the
// object's own member names from names inside its values.
func hasTopLevelErrors(body []byte) (bool, error) {
	b := bytes.TrimSpace(body)
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return false, errNotObject
	}
	depth := 0
	for i := 0; i < len(b); {
		k := bytes.IndexAny(b[i:], "\"{}[]")
		if k < 0 {
			break
		}
		i += k
		switch b[i] {
		case '{', '[':
			depth++
			i++
		case '}', ']':
			depth--
			if depth < 0 {
				return false, errNotObject
			}
			i++
		case '"':
			end := stringEnd(b, i+1)
			if end < 0 {
				return false, errNotObject
			}
			name := b[i+1 : end]
			i = end + 1
			if depth != 1 || string(name) != "errors" {
				continue
			}
			rest := bytes.TrimLeft(b[i:], " \t\r\n")
			if len(rest) == 0 || rest[0] != ':' {
				continue // a string value "errors", not a member name
			}
			v := bytes.TrimLeft(rest[1:], " \t\r\n")
			if bytes.HasPrefix(v, []byte("null")) {
				continue
			}
			if len(v) > 0 && v[0] == '[' {
				if r := bytes.TrimLeft(v[1:], " \t\r\n"); len(r) > 0 && r[0] == ']' {
					continue
				}
			}
			return true, nil
		}
	}
	if depth != 0 {
		return false, errNotObject
	}
	return false, nil
}

// stringEnd returns the index of the quote that closes the JSON string starting at from (just
// after its opening quote), or -1.
func stringEnd(b []byte, from int) int {
	for j := from; j < len(b); {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1
		}
		q := j + k
		backslashes := 0
		for p := q - 1; p >= from && b[p] == '\\'; p-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return q
		}
		j = q + 1
	}
	return -1
}

// excerpt returns the start of a body for an error message.
func excerpt(body []byte) string {
	const n = 300
	b := bytes.TrimSpace(body)
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
