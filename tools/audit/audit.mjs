// Runs the GraphQL-over-HTTP spec audits of graphql-http (serverAudits) against a running server.
//
//   GRAPHQL_URL=http://127.0.0.1:8080/graphql TOKEN=<bearer token> node tools/audit/audit.mjs
//
// Every request carries "Authorization: Bearer $TOKEN" (the audits query `{ __typename }`, which
// Rapport answers only for signed-in callers). One line per audit:
//
//   PASS    the audit passed
//   FAIL    a MUST audit failed (the server is not compliant)
//   WARN    a SHOULD audit failed (a recommendation)
//   NOTICE  a MAY audit failed (truly optional)
//
// followed, for every non-passing audit, by the reason and what the server answered. Exits 1 if any
// MUST audit fails or an audit could not run at all, 2 on bad usage, 0 otherwise.

import { serverAudits } from 'graphql-http';

const url = process.env.GRAPHQL_URL;
const token = process.env.TOKEN ?? '';
const timeoutMs = Number(process.env.AUDIT_TIMEOUT_MS ?? 15000);

if (!url) {
  console.error('audit: set GRAPHQL_URL (e.g. http://127.0.0.1:8080/graphql) and TOKEN');
  process.exit(2);
}
if (!token) {
  console.error('audit: warning: TOKEN is empty; requests are sent without credentials');
}

/** fetch with the bearer token and a timeout added to every request. */
function authorizedFetch(input, init = {}) {
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers, signal: init.signal ?? AbortSignal.timeout(timeoutMs) });
}

const labels = { ok: 'PASS', error: 'FAIL', warn: 'WARN', notice: 'NOTICE' };

/** What the server answered, for a failing audit: status, content type and the start of the body. */
async function describe(res) {
  if (!res) return '';
  let body;
  try {
    body = (await res.text()).replace(/\s+/g, ' ').trim();
    if (body.length > 300) body = `${body.slice(0, 300)}...`;
  } catch {
    body = '(body already read)';
  }
  return `HTTP ${res.status}, content-type: ${res.headers.get('content-type') ?? '(none)'}, body: ${body || '(empty)'}`;
}

const audits = serverAudits({ url, fetchFn: authorizedFetch });
const counts = { ok: 0, error: 0, warn: 0, notice: 0, fatal: 0 };

// One at a time: the results stay in the suite's order and the server sees no burst.
for (const audit of audits) {
  let result;
  try {
    result = await audit.fn();
  } catch (err) {
    // graphql-http throws only when an audit cannot run (connection refused, timeout, ...).
    counts.fatal++;
    console.log(`FAIL    ${audit.id}  ${audit.name}`);
    console.log(`          could not run: ${err?.cause?.message ?? err?.message ?? err}`);
    continue;
  }
  counts[result.status]++;
  console.log(`${labels[result.status].padEnd(6)}  ${result.id}  ${result.name}`);
  if (result.status !== 'ok') {
    console.log(`          reason: ${result.reason}`);
    const answer = await describe(result.response);
    if (answer) console.log(`          got: ${answer}`);
  }
}

console.log('');
console.log(
  `summary: ${audits.length} audits: ${counts.ok} passed, ${counts.error + counts.fatal} failed (MUST), ` +
    `${counts.warn} warnings (SHOULD), ${counts.notice} notices (MAY)` +
    (counts.fatal ? `; ${counts.fatal} could not run` : ''),
);
process.exit(counts.error + counts.fatal > 0 ? 1 : 0);
