package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// The response media types of the GraphQL-over-HTTP spec.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// postTransport and getTransport replace gqlgen's transport.POST and transport.GET so that
// request errors (raised before execution: a malformed request, parse, validation, variable
// coercion, the operation limits) follow the GraphQL-over-HTTP spec:
//
//   - a request that is not a well-formed GraphQL-over-HTTP request (body not JSON, query missing
//     or not a string, variables not a map) is 400 Bad Request;
//   - any other request error is 200 with application/json (the spec's SHOULD; gqlgen answers
//     422) and 400 with application/graphql-response+json;
//   - a request error's body has no "data" entry (gqlgen writes "data": null, which the spec and
//     the GraphQL spec reserve for executed operations);
//   - a mutation over GET is 405 Method Not Allowed (gqlgen answers 406).
type postTransport struct{}

func (postTransport) Supports(r *http.Request) bool {
	if r.Method != http.MethodPost || r.Header.Get("Upgrade") != "" {
		return false
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mediaType == mediaJSON
}

func (postTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media := responseMediaType(r)
	w.Header().Set("Content-Type", media)
	start := graphql.Now()
	var params graphql.RawParams
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&params); err != nil {
		status := http.StatusBadRequest
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			status = http.StatusRequestEntityTooLarge
		}
		writeRequestError(w, r, exec, status, gqlerror.Errorf("The request body is not a GraphQL request: %s", decodeErrorMessage(err)))
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	execute(w, r, exec, media, &params, false)
}

type getTransport struct{}

func (getTransport) Supports(r *http.Request) bool {
	return r.Method == http.MethodGet && r.Header.Get("Upgrade") == ""
}

func (getTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media := responseMediaType(r)
	w.Header().Set("Content-Type", media)
	start := graphql.Now()
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeRequestError(w, r, exec, http.StatusBadRequest, gqlerror.Errorf("The query string cannot be decoded: %v", err))
		return
	}
	params := graphql.RawParams{Query: query.Get("query"), OperationName: query.Get("operationName"), Headers: r.Header}
	for name, into := range map[string]*map[string]any{"variables": &params.Variables, "extensions": &params.Extensions} {
		if s := query.Get(name); s != "" {
			dec := json.NewDecoder(strings.NewReader(s))
			dec.UseNumber()
			if err := dec.Decode(into); err != nil {
				writeRequestError(w, r, exec, http.StatusBadRequest, gqlerror.Errorf("The %s parameter is not a JSON object.", name))
				return
			}
		}
	}
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	execute(w, r, exec, media, &params, true)
}

// execute runs a decoded request and writes its response.
func execute(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, media string, params *graphql.RawParams, get bool) {
	if params.Query == "" && params.Extensions["persistedQuery"] == nil {
		writeRequestError(w, r, exec, http.StatusBadRequest, gqlerror.Errorf("The request has no query."))
		return
	}
	ctx := r.Context()
	oc, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		status := http.StatusOK
		if media == mediaGraphQLResponse {
			status = http.StatusBadRequest
		}
		w.WriteHeader(status)
		writeErrorsOnly(w, exec.DispatchError(graphql.WithOperationContext(ctx, oc), errs))
		return
	}
	if get && oc.Operation.Operation != ast.Query {
		w.Header().Set("Allow", "GET, POST")
		writeRequestError(w, r, exec, http.StatusMethodNotAllowed, gqlerror.Errorf("Send %ss with POST; GET runs queries only.", oc.Operation.Operation))
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, oc)
	_, _ = w.Write(marshalResponse(responses(ctx)))
}

// marshalResponse writes resp as json.Marshal does, except that it copies data as it is:
// json.Marshal validates, compacts and HTML-escapes a json.RawMessage, which for a page of 50 rows
// that gqlgen has just written compactly was 5 % of the request's CPU. (<, > and & in strings stay
// as they are: the response is JSON, never HTML.)
func marshalResponse(resp *graphql.Response) []byte {
	head, err := json.Marshal(struct {
		Errors gqlerror.List `json:"errors,omitempty"`
	}{resp.Errors})
	if err != nil {
		panic(fmt.Errorf("marshal the GraphQL response: %w", err))
	}
	tail, err := json.Marshal(struct {
		Label      string         `json:"label,omitempty"`
		Path       ast.Path       `json:"path,omitempty"`
		HasNext    *bool          `json:"hasNext,omitempty"`
		Extensions map[string]any `json:"extensions,omitempty"`
	}{resp.Label, resp.Path, resp.HasNext, resp.Extensions})
	if err != nil {
		panic(fmt.Errorf("marshal the GraphQL response: %w", err))
	}
	data := []byte(resp.Data)
	if data == nil {
		data = []byte("null")
	}
	b := make([]byte, 0, len(head)+len(data)+len(tail)+10)
	b = append(b, head[:len(head)-1]...) // without its closing brace
	if len(head) > 2 {
		b = append(b, ',')
	}
	b = append(append(b, `"data":`...), data...)
	if len(tail) > 2 {
		return append(append(b, ','), tail[1:]...)
	}
	return append(b, '}')
}

// writeRequestError answers a request that cannot be run with status and err, through the
// error presenter (which adds the error code).
func writeRequestError(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, status int, err *gqlerror.Error) {
	w.WriteHeader(status)
	writeErrorsOnly(w, exec.DispatchError(r.Context(), gqlerror.List{err}))
}

// writeErrorsOnly writes a response without a "data" entry.
func writeErrorsOnly(w http.ResponseWriter, resp *graphql.Response) {
	b, err := json.Marshal(struct {
		Errors     gqlerror.List  `json:"errors"`
		Extensions map[string]any `json:"extensions,omitempty"`
	}{resp.Errors, resp.Extensions})
	if err != nil {
		panic(fmt.Errorf("marshal the GraphQL response: %w", err))
	}
	_, _ = w.Write(b)
}

// decodeErrorMessage says what is wrong with a request body without echoing it.
func decodeErrorMessage(err error) string {
	if e, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		return fmt.Sprintf("%s must be %s, not %s", e.Field, map[string]string{
			"query": "a string", "operationName": "a string", "variables": "an object", "extensions": "an object",
		}[e.Field], e.Value)
	}
	return err.Error()
}

// responseMediaType picks the response media type from the Accept header: the acceptable one of
// application/graphql-response+json and application/json with the highest quality, preferring
// application/graphql-response+json on a tie; application/json when the header is missing, names
// neither (*/*, application/*) or names nothing we serve.
func responseMediaType(r *http.Request) string {
	best, bestQ := mediaJSON, -1.0
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if v, err := strconv.ParseFloat(s, 64); err == nil {
				q = v
			}
		}
		if q <= 0 {
			continue
		}
		switch mt {
		case mediaGraphQLResponse:
			if q >= bestQ {
				best, bestQ = mediaGraphQLResponse, q
			}
		case mediaJSON, "application/*", "*/*":
			if q > bestQ {
				best, bestQ = mediaJSON, q
			}
		}
	}
	return best
}

// unsupportedTransport answers, as JSON, what no other transport takes: a POST whose body is not
// JSON is 415 Unsupported Media Type (gqlgen answers 400 with a text/plain content type), any
// other method 405.
type unsupportedTransport struct{}

func (unsupportedTransport) Supports(*http.Request) bool { return true }

func (unsupportedTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	w.Header().Set("Content-Type", responseMediaType(r))
	if r.Method == http.MethodPost {
		w.Header().Set("Accept-Post", mediaJSON)
		writeRequestError(w, r, exec, http.StatusUnsupportedMediaType, gqlerror.Errorf("Send the request as Content-Type: application/json."))
		return
	}
	w.Header().Set("Allow", "GET, POST")
	writeRequestError(w, r, exec, http.StatusMethodNotAllowed, gqlerror.Errorf("Send GraphQL requests with POST (or GET for queries)."))
}
