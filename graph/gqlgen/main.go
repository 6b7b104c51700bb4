// Command gqlgen generates graph/generated, graph/model/models_gen.go and the resolver stubs from
// gqlgen.yml, as `gqlgen generate` does, with changes to the execution code that make a page of
// records cheap to write out (docs/benchmarks.md, "Profile findings"):
//
//   - Fields of objects other than Query, Mutation and Subscription resolve one after the other in
//     the goroutine that writes their object, not one goroutine per resolver field (gqlgen does this
//     for Mutation fields only). Nested references are fetched ahead by the list resolvers
//     (graph/prefetch.go), so a reference field reads a cache and there is nothing for concurrency
//     to overlap; the goroutines cost a stack each, grown several times by gqlgen's deep call chain.
//   - The elements of a list are written one after the other (model.MarshalSlice), not one
//     goroutine per element (graphql.MarshalSliceConcurrently), for the same reason.
//   - No object prepares a group of deferred (@defer) fields, as none can be deferred any more.
//   - Those objects hold their field values in a model.Object, not a graphql.FieldSet: the same
//     JSON, without the map and the copy of every field a FieldSet allocates when it is written.
//   - Trivial fields do not go through graphql.ResolveField (fastpath.go): a field bound to a struct
//     field or to a method without context, arguments or error, with no resolver and no directive.
//     A scalar or enum whose marshaler cannot fail is a direct call of the marshaler (no
//     FieldContext, context, middleware, closures or recover: ~6 allocations per field); a non-null
//     scalar whose conversion may give null (a zero time) is converted directly and takes gqlgen's
//     path only to report that null; a field of an object type keeps its FieldContext and recover
//     but not the field middleware. Field interceptors (AroundFields) therefore never see trivial
//     fields. A String or [String!]! bound to a struct field of a record held by pointer is written
//     from a pointer to the field (model.StringAt, model.StringsAt), without the closure per string
//     graphql.MarshalString allocates.
//   - Query and Mutation responses are written into a pooled buffer (model.Marshal).
//
// Query's root fields still run concurrently: they are the ones that read the database.
//
// Every change is checked: the generator fails, naming graph/gqlgen, when gqlgen's output no longer
// has the code a rewrite expects (a trivial field's function not exactly gqlgen's template, the hot
// scalars' marshalers not recognised, a deferred group left).
//
// Run it through `make generate` (go run ./graph/gqlgen).
package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/99designs/gqlgen/api"
	"github.com/99designs/gqlgen/codegen"
	"github.com/99designs/gqlgen/codegen/config"
)

func main() {
	if err := generate(); err != nil {
		fmt.Fprintln(os.Stderr, "gqlgen:", err)
		os.Exit(1)
	}
}

func generate() error {
	cfg, err := config.LoadConfigFromDefaultLocations()
	if err != nil {
		return err
	}
	plugin := &serial{}
	if err := api.Generate(cfg, api.AddPlugin(plugin)); err != nil {
		return err
	}
	exec, err := os.ReadFile(cfg.Exec.Filename)
	if err != nil {
		return err
	}
	for _, r := range rewrites {
		if !bytes.Contains(exec, []byte(r.from)) {
			return fmt.Errorf("%s has no %q: the generated code changed, check graph/gqlgen", cfg.Exec.Filename, r.from)
		}
		exec = bytes.ReplaceAll(exec, []byte(r.from), []byte(r.to))
	}
	exec, n, err := fastFields(exec, plugin.trivial)
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.Exec.Filename, err)
	}
	fmt.Printf("gqlgen: %d of %d trivial fields without graphql.ResolveField\n", n, len(plugin.trivial))
	// Deferred fields (@defer) are only scheduled by concurrent fields below the roots: none now.
	if bytes.Contains(exec, []byte("&deferred")) {
		return fmt.Errorf("%s defers fields: the generated code changed, check graph/gqlgen", cfg.Exec.Filename)
	}
	return os.WriteFile(cfg.Exec.Filename, exec, 0o644)
}

// rewrites are the textual changes to the generated execution code.
var rewrites = []struct{ from, to string }{
	// A list's elements one after the other.
	{"graphql.MarshalSliceConcurrently(", "model.MarshalSlice("},
	// Every object's group of deferred fields, which computes the object's whole path and
	// allocates a field set and a map, for fields that no longer can be deferred (a @defer below
	// the roots is answered in place, which the incremental delivery proposal allows).
	{"deferred := graphql.NewDeferredGroup(ctx)", "var deferred graphql.DeferredGroup"},
	// The fields of an object below the roots (whose loop goes straight to the switch, where a
	// root's first sets up the root field's context) in a model.Object, which is written without
	// allocating, not a graphql.FieldSet.
	{"\tout := graphql.NewFieldSet(fields)\n\tvar deferred graphql.DeferredGroup\n\tfor i, field := range fields {\n\t\tswitch field.Name {",
		"\tout := model.NewObject(fields)\n\tvar deferred graphql.DeferredGroup\n\tfor i, field := range fields {\n\t\tswitch field.Name {"},
	// Query and Mutation responses written into a buffer kept between responses, not a new
	// bytes.Buffer grown by doubling.
	{"\t\t\tvar buf bytes.Buffer\n\t\t\tdata.MarshalGQL(&buf)\n\t\t\tresponse.Data = buf.Bytes()\n",
		"\t\t\tresponse.Data = model.Marshal(data)\n"},
	{"\t\t\tvar buf bytes.Buffer\n\t\t\tdata.MarshalGQL(&buf)\n\n\t\t\treturn &graphql.Response{\n\t\t\t\tData: buf.Bytes(),\n",
		"\t\t\treturn &graphql.Response{\n\t\t\t\tData: model.Marshal(data),\n"},
}

// serial is the gqlgen plugin that turns off per-field concurrency below the root types and lists
// the trivial fields.
type serial struct{ trivial []trivialField }

// Name names the plugin.
func (*serial) Name() string { return "serial" }

// GenerateCode runs before the execution code is written: it marks every object but the roots as
// gqlgen marks Mutation, and notes the trivial fields.
func (s *serial) GenerateCode(data *codegen.Data) error {
	for _, o := range data.Objects {
		if !o.Root {
			o.DisableConcurrency = true
		}
	}
	var err error
	s.trivial, err = trivialFields(data)
	return err
}
