// Shared by the suite: the live server's address, members, and a way to expire a token.

import { createHmac, randomUUID } from "node:crypto";

import WebSocket from "ws";

import { createVendromeClient } from "../src/index.js";
import type { StoredSession, VendromeClientOptions, WebSocketConstructor } from "../src/index.js";
import { memoryStorage } from "../src/storage.js";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the suite through scripts/peers/sdk.sh`);
  return value;
}

export const BASE_URL = required("VENDROME_BASE_URL");
export const PASSWORD = "a long enough sdk test passphrase";

/** A fetch that records every request it sends. */
export function recordingFetch(inner: (request: Request) => Promise<Response> = (r) => fetch(r)) {
  const sent: Request[] = [];
  const wrapped = async (request: Request) => {
    sent.push(request.clone());
    return inner(request);
  };
  return { fetch: wrapped, sent };
}

/** A client on the live server (Node 20 has no global WebSocket: the `ws` package's). */
export function client(options: Partial<VendromeClientOptions> = {}) {
  return createVendromeClient({
    baseUrl: BASE_URL,
    storage: memoryStorage(),
    realtime: { WebSocket: WebSocket as unknown as WebSocketConstructor, initialBackoffMs: 50, maxBackoffMs: 500 },
    ...options,
  });
}

/** A fresh member, registered and signed in. */
export async function member(name: string, options: Partial<VendromeClientOptions> = {}) {
  const api = client(options);
  const email = `${name.toLowerCase()}-${randomUUID().slice(0, 8)}@example.com`;
  const tokens = await api.auth.register({ email, password: PASSWORD, display_name: name });
  return { api, email, id: tokens.user.id };
}

/**
 * The stored session's access token re-signed with an expiry in the past, exactly as the server
 * signs (HS256 with the key VENDROME_SIGNING_KEYS names first): the server answers it with
 * `token_expired`, as it would answer a token past its 15 minutes.
 */
export function expired(session: StoredSession): StoredSession {
  const [kid, secret] = required("VENDROME_SIGNING_KEYS").split(",")[0]!.split(":") as [string, string];
  const [, payload] = session.accessToken.split(".") as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const head = `${encode({ alg: "HS256", typ: "JWT", kid })}.${encode({ ...claims, iat: now - 1000, exp: now - 100 })}`;
  const signature = createHmac("sha256", Buffer.from(secret, "base64url")).update(head).digest("base64url");
  return { ...session, accessToken: `${head}.${signature}` };
}

/** A client that starts from a stored session, as a page reloaded later does. */
export async function resumed(session: StoredSession, options: Partial<VendromeClientOptions> = {}) {
  const storage = memoryStorage();
  await storage.setItem("vendrome.session", JSON.stringify(session));
  return client({ storage, ...options });
}
