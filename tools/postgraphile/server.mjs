// PostGraphile v5 (amber preset) over Rapport's database: the peer `rapport bench --target
// postgraphile` measures Rapport against (scripts/bench.sh starts it).
//
// It serves POST /graphql and GET /metrics (process_resident_memory_bytes, for the bench's RSS
// column). Every request must carry a Rapport bearer token (HS256, signed with Rapport's JWT
// secret); its "org" claim becomes the transaction's app.org_id and the role rapport_app, so
// row-level security confines PostGraphile exactly as it confines Rapport's own reads. The
// connection itself is the database owner's, as PostGraphile's introspection needs.
//
// Environment:
//   DATABASE_URL       the database (the owner or a superuser)
//   RAPPORT_JWT_SECRET Rapport's token secret, or RAPPORT_JWT_SECRET_FILE naming a file holding it
//   PORT               listen port on 127.0.0.1 (default 5678; 0: any free port, printed)
import { createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";

import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const secret = process.env.RAPPORT_JWT_SECRET
  ? Buffer.from(process.env.RAPPORT_JWT_SECRET)
  : readFileSync(process.env.RAPPORT_JWT_SECRET_FILE);
const port = Number(process.env.PORT ?? 5678);

// orgOf verifies a Rapport token as Rapport does (HS256, issuer "rapport", not expired) and returns
// its organization, or throws.
function orgOf(authorization) {
  const [scheme, token] = (authorization || "").split(" ");
  if (scheme?.toLowerCase() !== "bearer" || !token) throw new Error("Send a bearer token.");
  const [header, payload, signature] = token.split(".");
  const expected = createHmac("sha256", secret).update(`${header}.${payload}`).digest();
  const got = Buffer.from(signature || "", "base64url");
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) throw new Error("The token is not valid.");
  const alg = JSON.parse(Buffer.from(header, "base64url").toString()).alg;
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
  if (alg !== "HS256" || claims.iss !== "rapport" || !(claims.exp * 1000 > Date.now()) || !claims.org) {
    throw new Error("The token is not valid.");
  }
  return claims.org;
}

const preset = {
  extends: [PostGraphileAmberPreset],
  // By default PostGraphile offers ordering, conditions and backward relations only on columns
  // that lead an index; Rapport's indexes all lead with org_id (the tenant), so without this it
  // could not order by creation time, skip deleted rows or list an account's contacts, which the
  // scenarios' equivalents need (and which Rapport's indexes serve).
  disablePlugins: ["PgIndexBehaviorsPlugin"],
  pgServices: [makePgService({ connectionString: process.env.DATABASE_URL, schemas: ["public"], poolConfig: { max: 20 } })],
  grafserv: { graphqlPath: "/graphql", graphiql: false, watch: false },
  grafast: {
    context(requestContext) {
      const org = orgOf(requestContext.node?.req.headers.authorization);
      return { pgSettings: { role: "rapport_app", "app.org_id": org } };
    },
  },
};

const serv = postgraphile(preset).createServ(grafserv);
const graphql = serv.createHandler();
const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/metrics") {
    res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" });
    res.end(`# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes ${process.memoryUsage.rss()}\n`);
    return;
  }
  graphql(req, res, (err) => {
    res.writeHead(err ? 500 : 404, { "Content-Type": "text/plain" });
    res.end(err ? "error" : "not found");
  });
});
server.listen(port, "127.0.0.1", () => console.log(`postgraphile listening on 127.0.0.1:${server.address().port}`));
