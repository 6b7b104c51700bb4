package main

import (
	"fmt"
	"strings"
	"testing"
)

// marshalers are gqlgen's marshalers of the hot scalars (which fastFields requires to recognise),
// of a time (which may give null) and of a float (which keeps the context).
const marshalers = `
func (ec *executionContext) marshalNString2string(ctx context.Context, sel ast.SelectionSet, v string) graphql.Marshaler {
	_ = sel
	res := graphql.MarshalString(v)
	if res == graphql.Null {
		graphql.AddInvalidNullFromMarshaler(ctx, "String!")
	}
	return res
}

func (ec *executionContext) marshalNID2string(ctx context.Context, sel ast.SelectionSet, v string) graphql.Marshaler {
	_ = sel
	res := graphql.MarshalID(v)
	if res == graphql.Null {
		graphql.AddInvalidNullFromMarshaler(ctx, "ID!")
	}
	return res
}

func (ec *executionContext) marshalOString2ᚖstring(ctx context.Context, sel ast.SelectionSet, v *string) graphql.Marshaler {
	if v == nil {
		return graphql.Null
	}
	_ = sel
	_ = ctx
	res := graphql.MarshalString(*v)
	return res
}

func (ec *executionContext) marshalNString2ᚕstringᚄ(ctx context.Context, sel ast.SelectionSet, v []string) graphql.Marshaler {
	ret := make(graphql.Array, len(v))
	for i := range v {
		ret[i] = ec.marshalNString2string(ctx, sel, v[i])
	}

	for _, e := range ret {
		if e == graphql.Null {
			return graphql.Null
		}
	}

	return ret
}

func (ec *executionContext) marshalNTime2timeᚐTime(ctx context.Context, sel ast.SelectionSet, v time.Time) graphql.Marshaler {
	_ = sel
	res := graphql.MarshalTime(v)
	if res == graphql.Null {
		graphql.AddInvalidNullFromMarshaler(ctx, "Time!")
	}
	return res
}

func (ec *executionContext) marshalNFloat2float64(ctx context.Context, sel ast.SelectionSet, v float64) graphql.Marshaler {
	_ = sel
	res := graphql.MarshalFloatContext(v)
	if res == graphql.Null {
		graphql.AddInvalidNullFromMarshaler(ctx, "Float!")
	}
	return graphql.WrapContextMarshaler(ctx, res)
}
`

// slow writes a field function as gqlgen does.
func slow(f trivialField, typ string) string {
	return strings.NewReplacer("(.+)) (ret", "*crm.Contact) (ret", "v (.+))", "v "+typ+")", "(?:true|false)", "true").
		Replace(fmt.Sprintf(slowField, f.fn, f.fieldFn, f.value, f.marshal))
}

func TestFastFields(t *testing.T) {
	name := trivialField{"_Contact_name", "fieldContext_Contact_name", "obj.Name", "marshalNString2string", true}
	created := trivialField{"_Contact_createdAt", "fieldContext_Contact_createdAt", "obj.CreatedAt", "marshalNTime2timeᚐTime", true}
	score := trivialField{"_Contact_score", "fieldContext_Contact_score", "obj.Score()", "marshalNFloat2float64", true}
	account := trivialField{"_Contact_account", "fieldContext_Contact_account", "obj.Account", "marshalNAccount2ᚖcrmᚐAccount", false}
	id := trivialField{"_Contact_id", "fieldContext_Contact_id", "obj.GlobalID()", "marshalNString2string", true}
	exec := marshalers + slow(name, "string") + slow(created, "time.Time") + slow(score, "float64") + slow(account, "*crm.Account") + slow(id, "string")

	got, n, err := fastFields([]byte(exec), []trivialField{name, created, score, account, id})
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("%d functions changed, want 4 (not the float's, whose marshaler keeps the context)", n)
	}
	for _, want := range []string{
		marshalers,
		"func (ec *executionContext) _Contact_name(ctx context.Context, field graphql.CollectedField, obj *crm.Contact) (ret graphql.Marshaler) {\n" +
			"\treturn model.StringAt(&obj.Name)\n}\n",
		// A method's value has no address: the marshaler is called directly.
		"func (ec *executionContext) _Contact_id(ctx context.Context, field graphql.CollectedField, obj *crm.Contact) (ret graphql.Marshaler) {\n" +
			"\treturn ec.marshalNString2string(ctx, field.Selections, obj.GlobalID())\n}\n",
		"func (ec *executionContext) _Contact_createdAt(ctx context.Context, field graphql.CollectedField, obj *crm.Contact) (ret graphql.Marshaler) {\n" +
			"\tif res := graphql.MarshalTime(obj.CreatedAt); res != graphql.Null {\n\t\treturn res\n\t}\n\treturn graphql.ResolveField(\n",
		slow(score, "float64"),
		"\tvar v *crm.Account = obj.Account\n\tfc.Result = v\n\treturn ec.marshalNAccount2ᚖcrmᚐAccount(ctx, field.Selections, v)\n}\n",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("the rewritten code has no\n%s\nin\n%s", want, got)
		}
	}

	// A trivial field whose function is not gqlgen's usual one stops the generator.
	changed := strings.Replace(exec, "\t\tnil,\n\t\tfunc(ctx context.Context, selections ast.SelectionSet, v string)", "\t\tec._fieldMiddleware,\n\t\tfunc(ctx context.Context, selections ast.SelectionSet, v string)", 1)
	if _, _, err := fastFields([]byte(changed), []trivialField{name}); err == nil {
		t.Error("a changed field function was rewritten")
	}
	// So do marshalers of the hot scalars that are no longer recognised.
	changed = strings.Replace(exec, "res := graphql.MarshalID(v)", "res := graphql.MarshalID(v, ctx)", 1)
	if _, _, err := fastFields([]byte(changed), []trivialField{name}); err == nil {
		t.Error("a changed marshaler was taken for one that cannot fail")
	}
}
