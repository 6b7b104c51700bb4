package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Client sends single GraphQL requests for preparation and checks (the load itself goes through
// vegeta).
type Client struct {
	// HTTP sends the requests.
	HTTP *http.Client
	// Endpoint is the GraphQL URL, e.g. http://127.0.0.1:8080/graphql.
	Endpoint string
	// Token is the bearer token sent with every request.
	Token string
}

// GraphQLError is an error a GraphQL response reported.
type GraphQLError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// Code returns the error's extensions.code ("" when it has none).
func (e GraphQLError) Code() string {
	c, _ := e.Extensions["code"].(string)
	return c
}

// ResponseError is a response that failed.
type ResponseError struct {
	Status int            // the HTTP status
	Errors []GraphQLError // the GraphQL errors, if the body was a GraphQL response
	Body   string         // an excerpt of the body
}

// Error gives the status and the GraphQL errors' codes and messages.
func (e *ResponseError) Error() string {
	if len(e.Errors) == 0 {
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body)
	}
	msgs := make([]string, len(e.Errors))
	for i, ge := range e.Errors {
		msgs[i] = ge.Message
		if c := ge.Code(); c != "" {
			msgs[i] = c + ": " + msgs[i]
		}
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, strings.Join(msgs, "; "))
}

// Do posts body (a JSON GraphQL request) and returns the response's data. A status other than 200,
// a body that is not a GraphQL response or any GraphQL error is a *ResponseError.
func (c *Client) Do(ctx context.Context, body []byte) (json.RawMessage, error) {
	status, raw, err := c.Post(ctx, body)
	if err != nil {
		return nil, err
	}
	return decodeResponse(status, raw)
}

// Post posts body (a JSON GraphQL request) and returns the response's status and body as they are.
func (c *Client) Post(ctx context.Context, body []byte) (int, []byte, error) {
	return c.post(ctx, c.Endpoint, "application/json", c.Token, body)
}

// PostTo posts body to another URL than the GraphQL endpoint (such as a public form), without the
// token, and returns the response's status and body as they are.
func (c *Client) PostTo(ctx context.Context, url, contentType string, body []byte) (int, []byte, error) {
	return c.post(ctx, url, contentType, "", body)
}

func (c *Client) post(ctx context.Context, url, contentType, token string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, raw, nil
}

// decodeResponse returns the data of a GraphQL response, or a *ResponseError when the status is
// not 200, the body is not a GraphQL response or it carries GraphQL errors.
func decodeResponse(status int, raw []byte) (json.RawMessage, error) {
	var out struct {
		Data   json.RawMessage `json:"data"`
		Errors []GraphQLError  `json:"errors"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, &ResponseError{Status: status, Body: excerpt(raw)}
	}
	if status != http.StatusOK || len(out.Errors) > 0 {
		return nil, &ResponseError{Status: status, Errors: out.Errors, Body: excerpt(raw)}
	}
	return out.Data, nil
}

// Query posts a GraphQL document with its variables and decodes the response's data into out.
func (c *Client) Query(ctx context.Context, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	data, err := c.Do(ctx, body)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}
