package graph_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/rapportcrm/rapport/graph"
	"github.com/rapportcrm/rapport/graph/generated"
	"github.com/rapportcrm/rapport/graph/model"
	"github.com/rapportcrm/rapport/internal/crm"
)

// root answers Query.contacts with fixed contacts; every other resolver is absent (the documents
// below select none).
type root struct {
	generated.ResolverRoot
	contacts []crm.Contact
}

func (r root) Query() generated.QueryResolver { return contactsOnly{r: r} }

type contactsOnly struct {
	generated.QueryResolver
	r root
}

func (q contactsOnly) Contacts(context.Context, *int, *string, *int, *string, *model.ContactFilter, *model.RecordOrder) (*model.ContactConnection, error) {
	conn := &model.ContactConnection{Nodes: q.r.contacts}
	for i := range q.r.contacts {
		conn.Edges = append(conn.Edges, model.ContactEdge{Cursor: "c" + string(rune('0'+i)), Node: &q.r.contacts[i]})
	}
	conn.PageInfo.HasNextPage = true
	return conn, nil
}

// run answers a document as the API does (field middleware and error presenter included).
func run(t *testing.T, contacts []crm.Contact, query string) string {
	t.Helper()
	srv := handler.New(generated.NewExecutableSchema(generated.Config{Resolvers: root{contacts: contacts}}))
	srv.AddTransport(transport.POST{})
	srv.SetErrorPresenter(graph.ErrorPresenter(slog.New(slog.NewTextHandler(io.Discard, nil))))
	srv.AroundFields(graph.MarkResolverErrors)
	body, err := json.Marshal(map[string]string{"query": query})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/graphql", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return strings.TrimSpace(rec.Body.String())
}

func contact(id byte, first string) crm.Contact {
	created := time.Date(2026, 11, 23, 10, 30, 0, 123000000, time.UTC)
	return crm.Contact{
		ID: crm.ID{id}, FirstName: first, LastName: "Li", Name: first + " Li", Title: "CTO",
		Emails: []string{"a@example.com", "b@example.com"}, EmailConsent: crm.ConsentGranted, SMSConsent: crm.ConsentWithdrawn,
		Custom: json.RawMessage(`{"tier":"gold"}`), CreatedAt: created, UpdatedAt: created, Version: 3,
	}
}

// TestTrivialFieldsAnswerAsGqlgen pins the answer of trivial fields (struct fields and plain
// methods: scalars, enums, lists of strings, a nullable time, __typename, repeated and escaped
// strings), which graph/gqlgen writes without graphql.ResolveField, byte for byte as gqlgen's
// own execution code wrote it.
func TestTrivialFieldsAnswerAsGqlgen(t *testing.T) {
	contacts := []crm.Contact{contact(1, "Zoë \"Z\" \\ \n\t"), contact(2, "王")}
	contacts[1].Emails = nil
	contacts[1].Phones = []string{"+8613800138000"}
	got := run(t, contacts, `{ contacts(first: 2) { __typename edges { cursor node { __typename id name
		n: firstName firstName emails phones title emailConsent smsConsent custom createdAt deletedAt version
		name } } pageInfo { hasNextPage endCursor } } }`)
	want := `{"data":{"contacts":{"__typename":"ContactConnection","edges":[` +
		`{"cursor":"c0","node":{"__typename":"Contact","id":"Q29udGFjdDowMTAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA","name":"Zoë \"Z\" \\ \n\t Li",` +
		`"n":"Zoë \"Z\" \\ \n\t","firstName":"Zoë \"Z\" \\ \n\t","emails":["a@example.com","b@example.com"],"phones":[],"title":"CTO",` +
		`"emailConsent":"GRANTED","smsConsent":"WITHDRAWN","custom":{"tier":"gold"},"createdAt":"2026-11-23T10:30:00.123Z","deletedAt":null,"version":3}},` +
		`{"cursor":"c1","node":{"__typename":"Contact","id":"Q29udGFjdDowMjAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA","name":"王 Li",` +
		`"n":"王","firstName":"王","emails":[],"phones":["+8613800138000"],"title":"CTO",` +
		`"emailConsent":"GRANTED","smsConsent":"WITHDRAWN","custom":{"tier":"gold"},"createdAt":"2026-11-23T10:30:00.123Z","deletedAt":null,"version":3}}],` +
		`"pageInfo":{"hasNextPage":true,"endCursor":null}}}}`
	if got != want {
		t.Errorf("answer\n got %s\nwant %s", got, want)
	}
}

// TestNullInTrivialNonNullFieldReportsItsPath pins the error of a trivial non-null field that comes
// out null (a zero time.Time in createdAt: Time!): reported once, at the field's own path, and the
// null propagated to the nearest nullable parent, as gqlgen's own execution code does.
func TestNullInTrivialNonNullFieldReportsItsPath(t *testing.T) {
	contacts := []crm.Contact{contact(1, "Ann"), contact(2, "Bo")}
	contacts[1].CreatedAt = time.Time{}
	got := run(t, contacts, `{ contacts(first: 2) { edges { node { id createdAt } } } }`)
	want := `{"errors":[{"message":"cannot return null for non-null field Contact.createdAt (Time!): the marshaler returned null for a non-nil value",` +
		`"path":["contacts","edges",1,"node","createdAt"],"extensions":{"code":"BAD_USER_INPUT"}}],"data":null}`
	if got != want {
		t.Errorf("answer\n got %s\nwant %s", got, want)
	}
}
