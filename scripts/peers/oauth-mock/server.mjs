// A real OpenID Connect provider for the OAuth API tests (vendrome-server/tests/api/oauth.rs):
// oauth2-mock-server on 127.0.0.1 (a free port), plus a tiny control server beside it.
//
//   node server.mjs <folder whose node_modules holds oauth2-mock-server>
//
// Prints one JSON line on stdout when ready: {"issuer": "http://127.0.0.1:…", "control": "http://127.0.0.1:…"}.
// Exits when its standard input closes (the test that started it is gone).
//
// Control endpoints:
//   POST /next        {"sub", "email", "email_verified", "name", "nonce"?}: who signs in from now on
//                     (in the ID token and userinfo); "nonce", when given, replaces the ID token's
//                     nonce once (to test that a mismatch is refused).
//   GET  /last-token  what the last token request carried: {"code_verifier", "redirect_uri", "client_id"}.
//
// On top of the mock's own checks, a code whose authorization carried a code_challenge is refused
// at the token endpoint without a code_verifier (RFC 7636 §4.6; the mock checks only a verifier sent).

import http from "node:http";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const modules = process.argv[2];
if (!modules) {
  console.error("usage: node server.mjs <folder with node_modules/oauth2-mock-server>");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(modules), "package.json"));
const { OAuth2Server } = await import(pathToFileURL(require.resolve("oauth2-mock-server")).href);

let profile = { sub: "johndoe", email: "john@example.com", email_verified: true, name: "John Doe" };
let nonceOverride;
let lastToken = null;
const challenged = new Set();

const server = new OAuth2Server();
await server.issuer.keys.generate("RS256");
const service = server.service;

service.on("beforeAuthorizeRedirect", (redirect, req) => {
  if (req.query.code_challenge) challenged.add(redirect.url.searchParams.get("code"));
});

service.on("beforeTokenSigning", (token) => {
  const { sub, email, email_verified, name } = profile;
  if ("scope" in token.payload) {
    token.payload.sub = sub; // the access token
    return;
  }
  Object.assign(token.payload, { sub, email, email_verified, name });
  if (nonceOverride !== undefined) {
    token.payload.nonce = nonceOverride;
    nonceOverride = undefined;
  }
});

service.on("beforeResponse", (response, req) => {
  const body = req.body ?? {};
  if (body.grant_type !== "authorization_code") return;
  lastToken = {
    code_verifier: body.code_verifier ?? null,
    redirect_uri: body.redirect_uri ?? null,
    client_id: body.client_id ?? null,
  };
  if (challenged.delete(body.code) && !body.code_verifier) {
    response.statusCode = 400;
    response.body = { error: "invalid_grant", error_description: "code_verifier required" };
  }
});

service.on("beforeUserinfo", (response) => {
  const { sub, email, email_verified, name } = profile;
  response.body = { sub, id: sub, email, email_verified, name };
});

await server.start(0, "127.0.0.1");
// The mock names itself `localhost`, which may resolve to ::1 first; it listens on 127.0.0.1 only.
server.issuer.url = `http://127.0.0.1:${server.address().port}`;

const control = http.createServer((req, res) => {
  const answer = (status, value) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(value));
  };
  if (req.method === "GET" && req.url === "/last-token") return answer(200, lastToken);
  if (req.method === "POST" && req.url === "/next") {
    let text = "";
    req.on("data", (chunk) => (text += chunk));
    req.on("end", () => {
      try {
        const next = JSON.parse(text);
        nonceOverride = next.nonce;
        delete next.nonce;
        profile = next;
        answer(200, profile);
      } catch (error) {
        answer(400, { error: String(error) });
      }
    });
    return;
  }
  answer(404, { error: "not found" });
});
await new Promise((resolve) => control.listen(0, "127.0.0.1", resolve));

console.log(JSON.stringify({ issuer: server.issuer.url, control: `http://127.0.0.1:${control.address().port}` }));

process.stdin.on("end", () => process.exit(0));
process.stdin.on("close", () => process.exit(0));
process.stdin.resume();
