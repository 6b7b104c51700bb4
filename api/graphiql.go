package api

import (
	"html/template"
	"net/http"
)

// graphiQLPage is GraphiQL from its CDN, for development. Paste a token from `rapport token` into
// the headers pane as {"Authorization": "Bearer ..."}.
var graphiQLPage = template.Must(template.New("graphiql").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Rapport GraphQL</title>
<link rel="stylesheet" href="https://unpkg.com/graphiql@3.8.3/graphiql.min.css">
<style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL… (it needs unpkg.com; the API itself is at {{.}})</div>
<script crossorigin src="https://unpkg.com/react@18.3.1/umd/react.production.min.js"></script>
<script crossorigin src="https://unpkg.com/react-dom@18.3.1/umd/react-dom.production.min.js"></script>
<script crossorigin src="https://unpkg.com/graphiql@3.8.3/graphiql.min.js"></script>
<script>
  const url = new URL({{.}}, window.location.href);
  const wsUrl = url.href.replace(/^http/, "ws");
  const fetcher = GraphiQL.createFetcher({ url: url.href, subscriptionUrl: wsUrl });
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultHeaders: '{"Authorization": "Bearer <token from: go run ./cmd/rapport token --org demo --user admin@demo.test>"}',
    }),
  );
</script>
</body>
</html>`))

// graphiQL serves the GraphiQL page for the endpoint.
func graphiQL(endpoint string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = graphiQLPage.Execute(w, endpoint)
	}
}
