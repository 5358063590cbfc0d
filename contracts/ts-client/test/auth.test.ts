import { describe, expect, it } from "vitest";

import { ApiError, isApiError } from "../src/index.js";
import type { SignedOutEvent } from "../src/index.js";
import { PASSWORD, client, expired, member, recordingFetch, resumed } from "./helpers.js";

describe("auth", () => {
  it("registers, signs in on another client and reads the account", async () => {
    const { email, id } = await member("Ada");
    const other = client();
    const tokens = await other.auth.login({ email, password: PASSWORD });
    expect(tokens.user.id).toBe(id);
    expect((await other.session())?.userId).toBe(id);
    const me = await other.auth.me();
    expect(me.id).toBe(id);
    expect(me.email).toBe(email);
  });

  it("throws typed errors discriminated by code", async () => {
    const anonymous = client();
    const wrong = await anonymous.auth.login({ email: "nobody@example.com", password: "not the password" }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(ApiError);
    expect(isApiError(wrong, "invalid_credentials")).toBe(true);
    if (!isApiError(wrong)) throw wrong;
    expect(wrong.status).toBe(401);
    expect(wrong.requestId).toMatch(/.+/);

    const invalid = await anonymous.auth
      .register({ email: "not an email", password: "x", display_name: "" })
      .catch((e: unknown) => e);
    if (!isApiError(invalid, "validation_failed")) throw invalid;
    expect(invalid.status).toBe(422);
    expect(Object.keys(invalid.details.fields ?? {})).toEqual(expect.arrayContaining(["email", "password"]));

    const signedOut = await anonymous.auth.me().catch((e: unknown) => e);
    expect(isApiError(signedOut, "token_missing")).toBe(true);
  });

  it("shares one refresh among ten concurrent token_expired answers, then retries each once", async () => {
    const { api, id } = await member("Ben");
    const session = (await api.session())!;
    const recorder = recordingFetch();
    const reloaded = await resumed(expired(session), { fetch: recorder.fetch });
    const changes: string[] = [];
    reloaded.on("tokensChanged", (event) => changes.push(event.sessionId));

    const answers = await Promise.all(Array.from({ length: 10 }, () => reloaded.auth.me()));

    expect(answers.map((a) => a.id)).toEqual(Array(10).fill(id));
    const refreshes = recorder.sent.filter((r) => new URL(r.url).pathname === "/v1/auth/refresh");
    expect(refreshes).toHaveLength(1);
    const reads = recorder.sent.filter((r) => new URL(r.url).pathname === "/v1/me");
    expect(reads).toHaveLength(20);
    expect(changes).toEqual([session.sessionId]);
    const stored = (await reloaded.session())!;
    expect(stored.refreshToken).not.toBe(session.refreshToken);
    // The rotated refresh token works; the traded one is spent.
    expect(await reloaded.auth.refresh()).toBe(true);
  });

  it("retries a POST after a refresh with the same Idempotency-Key", async () => {
    const { api } = await member("Cleo");
    const recorder = recordingFetch();
    const reloaded = await resumed(expired((await api.session())!), { fetch: recorder.fetch });
    const post = await reloaded.posts.create({ body: "written with an expired token" });
    const attempts = recorder.sent.filter((r) => r.method === "POST" && new URL(r.url).pathname === "/v1/posts");
    expect(attempts).toHaveLength(2);
    const keys = attempts.map((r) => r.headers.get("idempotency-key"));
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    expect((await api.posts.get(post.id)).body).toBe("written with an expired token");
    // Auth endpoints take no key (their answers hold tokens).
    const refresh = recorder.sent.find((r) => new URL(r.url).pathname === "/v1/auth/refresh")!;
    expect(refresh.headers.get("idempotency-key")).toBeNull();
  });

  it("signs out on session_revoked and on a refused refresh", async () => {
    const { api, email } = await member("Dan");
    const second = client();
    await second.auth.login({ email, password: PASSWORD });
    const expiredCopy = await resumed(expired((await second.session())!));
    const events: SignedOutEvent[] = [];
    second.on("signedOut", (event) => events.push(event));
    const expiredEvents: SignedOutEvent[] = [];
    expiredCopy.on("signedOut", (event) => expiredEvents.push(event));

    await api.auth.logoutAll();

    const revoked = await second.auth.me().catch((e: unknown) => e);
    expect(isApiError(revoked, "session_revoked")).toBe(true);
    expect(events).toEqual([{ reason: "session_revoked" }]);
    expect(await second.session()).toBeNull();

    // The expired copy's refresh is refused: the refresh token's session ended.
    const refused = await expiredCopy.auth.me().catch((e: unknown) => e);
    expect(isApiError(refused, "token_expired")).toBe(true);
    expect(expiredEvents).toEqual([{ reason: "session_revoked" }]);
    expect(await expiredCopy.session()).toBeNull();
  });

  it("answers a request past timeoutMs with ApiError timeout", async () => {
    // A fetch that never answers (a hung network): only the client's own timeout ends it.
    const hung = (request: Request) =>
      new Promise<Response>((_, reject) => request.signal.addEventListener("abort", () => reject(request.signal.reason)));
    const api = client({ fetch: hung, timeoutMs: 50 });
    const error = await api.flags.list().catch((e: unknown) => e);
    expect(isApiError(error, "timeout")).toBe(true);
    if (!isApiError(error)) throw error;
    expect(error.status).toBe(0);
  });
});
