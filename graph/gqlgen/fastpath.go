package main

import (
	"bytes"
	"fmt"
	"go/types"
	"regexp"
	"slices"
	"strings"

	"github.com/99designs/gqlgen/codegen"
)

// A trivial field is one the plugin found trivial in gqlgen's data: bound to a struct field or to
// a method without context, arguments or error, without directives, on an object below the roots.
// Its field function in exec.go only reads the value and marshals it, through graphql.ResolveField
// (slowField). A leaf's type is a scalar or an enum, or a list of them; any other is an object, an
// interface or a union, or a list of them, written with the field's FieldContext (its path and its
// result for the fields below), and its Go type is never an interface (a nil interface takes
// another branch of graphql.ResolveField).
type trivialField struct {
	fn      string // the field function, _Object_field
	fieldFn string // the field context function, fieldContext_Object_field
	value   string // the Go expression of the value: obj.Name or obj.Name()
	marshal string // the marshaler gqlgen calls with the value
	leaf    bool
}

// trivialFields lists the trivial fields of the schema. It refuses (rather than skipping) when
// some directive applies to every field, as the field functions then carry a middleware chain.
func trivialFields(data *codegen.Data) ([]trivialField, error) {
	if len(data.AllDirectives.LocationDirectives("FIELD")) > 0 {
		return nil, fmt.Errorf("the schema has FIELD directives: no field is trivial any more, check graph/gqlgen")
	}
	var out []trivialField
	for _, o := range data.Objects {
		if o.Root || o.Stream || strings.HasPrefix(o.Name, "__") {
			continue
		}
		for _, f := range o.Fields {
			leaf, ok := trivial(f)
			if !ok {
				continue
			}
			value := "obj." + f.GoFieldName
			if f.IsMethod() {
				value += "()"
			}
			out = append(out, trivialField{
				fn:      "_" + o.Name + "_" + f.Name,
				fieldFn: f.FieldContextFunc(),
				value:   value,
				marshal: f.TypeReference.MarshalFunc(),
				leaf:    leaf,
			})
		}
	}
	return out, nil
}

// trivial tells whether gqlgen resolves the field by reading a value it cannot fail to read, and
// whether the field is a leaf.
func trivial(f *codegen.Field) (leaf, ok bool) {
	if f.IsResolver || len(f.Args) > 0 || len(f.Directives) > 0 || f.Stream || f.IsBatch() ||
		f.HasHaser || f.VOkFunc || f.IsReserved() {
		return false, false
	}
	if !f.IsVariable() && !(f.IsMethod() && f.NoErr && !f.MethodHasContext) {
		return false, false
	}
	def := f.TypeReference.Definition
	if def == nil {
		return false, false
	}
	if def.Kind == "SCALAR" || def.Kind == "ENUM" {
		return true, true
	}
	_, iface := f.TypeReference.GO.Underlying().(*types.Interface)
	return false, !iface
}

// slowField is a trivial field's function as gqlgen writes it (%[1]s the function, %[2]s the field
// context function, %[3]s the value, %[4]s the marshaler); (.+) are the object's and the value's
// Go types, and the nullability of the field.
const slowField = `func (ec *executionContext) %[1]s(ctx context.Context, field graphql.CollectedField, obj (.+)) (ret graphql.Marshaler) {
	return graphql.ResolveField(
		ctx,
		ec.OperationContext,
		field,
		func(ctx context.Context, field graphql.CollectedField) (*graphql.FieldContext, error) {
			return ec.%[2]s(ctx, field)
		},
		func(ctx context.Context) (any, error) {
			return %[3]s, nil
		},
		nil,
		func(ctx context.Context, selections ast.SelectionSet, v (.+)) graphql.Marshaler {
			return ec.%[4]s(ctx, selections, v)
		},
		true,
		(?:true|false),
	)
}
`

// fastLeaf is what a leaf's function becomes when its marshaler cannot fail.
const fastLeaf = `func (ec *executionContext) %[1]s(ctx context.Context, field graphql.CollectedField, obj %[2]s) (ret graphql.Marshaler) {
	return ec.%[3]s(ctx, field.Selections, %[4]s)
}
`

// fastObject is what the function of a trivial field of another type becomes: what
// graphql.ResolveField does for it, without the field middleware and the closures (%[3]s the field
// context function, %[4]s the value, %[5]s the value's Go type, %[6]s the marshaler).
const fastObject = `func (ec *executionContext) %[1]s(ctx context.Context, field graphql.CollectedField, obj %[2]s) (ret graphql.Marshaler) {
	fc, err := ec.%[3]s(ctx, field)
	if err != nil {
		return graphql.Null
	}
	ctx = graphql.WithFieldContext(ctx, fc)
	defer func() {
		if r := recover(); r != nil {
			ec.Error(ctx, ec.Recover(ctx, r))
			ret = graphql.Null
		}
	}()
	var v %[5]s = %[4]s
	fc.Result = v
	return ec.%[6]s(ctx, field.Selections, v)
}
`

// pointerLeaf is what a leaf's function becomes when its marshaler has a counterpart that writes
// the value through a pointer to the record's field (byPointer; %[3]s), which a graphql.Marshaler
// holds without allocating. The record is held by pointer and not changed before it is written.
const pointerLeaf = `func (ec *executionContext) %[1]s(ctx context.Context, field graphql.CollectedField, obj %[2]s) (ret graphql.Marshaler) {
	return model.%[3]s(&%[4]s)
}
`

// byPointer maps gqlgen's marshalers of strings to their counterparts in graph/model that take a
// pointer: the same bytes (graph/model's tests compare them), no closure per string.
var byPointer = map[string]string{
	"marshalNString2string":   "StringAt",
	"marshalNString2ᚕstringᚄ": "StringsAt",
}

// guardLeaf goes first in the function of a trivial non-null scalar whose conversion may give
// null (a zero time.Time): the conversion is tried directly (%[1]s, on the value), and only a null,
// which the field does not allow, takes gqlgen's path, which reports the error with the field's
// path.
const guardLeaf = `	if res := %[1]s; res != graphql.Null {
		return res
	}
`

// fastFields rewrites the functions of trivial fields: a leaf whose marshaler cannot fail (see
// infallible) into a direct call of the marshaler (fastLeaf); a leaf that is a non-null scalar
// whose conversion alone may fail gets guardLeaf before gqlgen's path; other fields become
// fastObject. It returns how many functions it changed. A trivial field whose function is not
// exactly slowField is an error: gqlgen's template changed.
func fastFields(exec []byte, fields []trivialField) ([]byte, int, error) {
	safe, guarded := infallible(exec)
	// The marshalers of the hot scalars must be recognised, or their shape changed.
	for _, m := range []string{"marshalNString2string", "marshalNID2string", "marshalOString2ᚖstring", "marshalNString2ᚕstringᚄ"} {
		if !safe[m] {
			return nil, 0, fmt.Errorf("%s is not recognised as a marshaler that cannot fail: the generated code changed, check graph/gqlgen", m)
		}
	}
	type edit struct {
		start, end int
		text       string
	}
	var edits []edit
	for _, f := range fields {
		pattern := regexp.QuoteMeta(fmt.Sprintf(slowField, f.fn, f.fieldFn, f.value, f.marshal))
		pattern = strings.ReplaceAll(pattern, `\(\.\+\)`, `(.+)`)
		pattern = strings.ReplaceAll(pattern, `\(\?:true\|false\)`, `(?:true|false)`)
		re := regexp.MustCompile(`^` + pattern + `$`)
		start := bytes.Index(exec, []byte("func (ec *executionContext) "+f.fn+"("))
		end := -1
		if start >= 0 {
			end = bytes.Index(exec[start:], []byte("\n}\n"))
		}
		if end < 0 {
			return nil, 0, fmt.Errorf("exec.go has no function %s: the generated code changed, check graph/gqlgen", f.fn)
		}
		end += start + len("\n}\n")
		m := re.FindSubmatchIndex(exec[start:end])
		if m == nil {
			return nil, 0, fmt.Errorf("%s is not the field function graph/gqlgen expects (%s): the generated code changed, check graph/gqlgen", f.fn, f.value)
		}
		obj := string(exec[start+m[2] : start+m[3]])
		if !f.leaf {
			typ := string(exec[start+m[4] : start+m[5]])
			edits = append(edits, edit{start, end, fmt.Sprintf(fastObject, f.fn, obj, f.fieldFn, f.value, typ, f.marshal)})
		} else if at, ok := byPointer[f.marshal]; ok && strings.HasPrefix(obj, "*") && !strings.HasSuffix(f.value, ")") {
			edits = append(edits, edit{start, end, fmt.Sprintf(pointerLeaf, f.fn, obj, at, f.value)})
		} else if safe[f.marshal] {
			edits = append(edits, edit{start, end, fmt.Sprintf(fastLeaf, f.fn, obj, f.marshal, f.value)})
		} else if conv, ok := guarded[f.marshal]; ok {
			conv = strings.Replace(strings.Replace(conv, "(v)", "("+f.value+")", 1), "[v]", "["+f.value+"]", 1)
			body := start + bytes.Index(exec[start:end], []byte("{\n")) + len("{\n")
			edits = append(edits, edit{body, body, fmt.Sprintf(guardLeaf, conv)})
		}
	}
	slices.SortFunc(edits, func(a, b edit) int { return a.start - b.start })
	var out bytes.Buffer
	at := 0
	for _, e := range edits {
		out.Write(exec[at:e.start])
		out.WriteString(e.text)
		at = e.end
	}
	out.Write(exec[at:])
	return out.Bytes(), len(edits), nil
}

// Marshaler bodies as gqlgen writes them. A marshaler cannot fail when it never adds an error and
// never keeps the context, which is then free to lack the field's FieldContext: a non-null scalar
// whose conversion never gives graphql.Null (the error branch is dead), a nullable scalar that
// does not use the context, a list of marshalers that cannot fail. A non-null scalar whose
// conversion is another function of the value alone (neverNull does not know it) is guarded.
var (
	nonNullScalar = regexp.MustCompile(`^\t_ = sel
	res := ([\w.]+\((?:v|[^(\s]+\[v\])\))
	if res == graphql\.Null \{
		graphql\.AddInvalidNullFromMarshaler\(ctx, "\w+!"\)
	\}
	return res
$`)
	nullableScalar = regexp.MustCompile(`^(?:\tif v == nil \{
		return graphql\.Null
	\}
)?\t_ = sel
	_ = ctx
	res := [^\n]+
	return res
$`)
	scalarList = regexp.MustCompile(`^(?:\tif v == nil \{
		return graphql\.Null
	\}
)?\tret := make\(graphql\.Array, len\(v\)\)
	for i := range v \{
		ret\[i\] = ec\.([^(\s]+)\(ctx, sel, v\[i\]\)
	\}

	for _, e := range ret \{
		if e == graphql\.Null \{
			return graphql\.Null
		\}
	\}

	return ret
$`)
	neverNull   = regexp.MustCompile(`^(?:graphql\.Marshal(?:String|Boolean|Int|Int32|Int64|ID)|model\.Marshal(?:Date|Decimal))\(`)
	marshalFunc = regexp.MustCompile(`(?m)^func \(ec \*executionContext\) (marshal[^(\s]+)\(ctx context\.Context, sel ast\.SelectionSet, v [^)]+\) graphql\.Marshaler \{\n`)
)

// infallible returns the marshalers of exec.go that cannot fail (safe), and the conversions of
// the value (with v for the value) of the non-null scalars that fail only when the conversion gives
// null (guarded).
func infallible(exec []byte) (safe map[string]bool, guarded map[string]string) {
	bodies := map[string]string{}
	for _, m := range marshalFunc.FindAllSubmatchIndex(exec, -1) {
		end := bytes.Index(exec[m[1]:], []byte("\n}\n"))
		if end >= 0 {
			bodies[string(exec[m[2]:m[3]])] = string(exec[m[1] : m[1]+end+1])
		}
	}
	safe, guarded = map[string]bool{}, map[string]string{}
	for name, body := range bodies {
		if m := nonNullScalar.FindStringSubmatch(body); m != nil {
			if neverNull.MatchString(m[1]) {
				safe[name] = true
			} else {
				guarded[name] = m[1]
			}
		} else if nullableScalar.MatchString(body) && !strings.Contains(body[strings.Index(body, "res :="):], "ctx") {
			safe[name] = true
		}
	}
	for name, body := range bodies {
		if m := scalarList.FindStringSubmatch(body); m != nil && safe[m[1]] {
			safe[name] = true
		}
	}
	return safe, guarded
}
