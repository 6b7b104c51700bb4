package model

import (
	"bytes"
	"sync"

	"github.com/99designs/gqlgen/graphql"
)

// buffers are the buffers responses are written into, kept between responses.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooled is the largest buffer kept for the next response.
const maxPooled = 1 << 20

// Marshal writes m into a buffer kept between responses and returns a copy of the bytes: one
// allocation of the response's size, where a new bytes.Buffer grows by doubling (a dozen
// allocations and copies for a page of records). The generated code writes Query and Mutation
// responses with it.
func Marshal(m graphql.Marshaler) []byte {
	buf := buffers.Get().(*bytes.Buffer)
	buf.Reset()
	m.MarshalGQL(buf)
	out := bytes.Clone(buf.Bytes())
	if buf.Cap() <= maxPooled {
		buffers.Put(buf)
	}
	return out
}
