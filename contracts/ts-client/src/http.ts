// The transport under every call: bearer header, one shared refresh for every `token_expired`,
// per-request timeout, `Idempotency-Key` on POSTs, and errors as `ApiError`.
//
// openapi-fetch builds each typed request; this is the `fetch` it calls.

import createClient from "openapi-fetch";
import type { Client } from "openapi-fetch";

import { ApiError, errorFromResponse } from "./errors.js";
import type { ClientEvents, ReadOnlyState } from "./events.js";
import { Emitter } from "./events.js";
import type { paths } from "./schema.js";
import type { SessionSlot, StoredSession } from "./storage.js";

/** The typed openapi-fetch client over the whole API. */
export type RawClient = Client<paths>;

export interface TransportOptions {
  baseUrl: string;
  fetch: (request: Request) => Promise<Response>;
  session: SessionSlot;
  timeoutMs: number;
  events: Emitter<ClientEvents>;
}

/** Tokens as the sign-in, registration and refresh endpoints answer them. */
export type AuthTokens = paths["/v1/auth/login"]["post"]["responses"][200]["content"]["application/json"]["data"];

const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Whether a POST to `path` takes an `Idempotency-Key` (every POST but the auth endpoints). */
export function acceptsIdempotencyKey(method: string, path: string): boolean {
  return method === "POST" && !path.startsWith("/v1/auth/");
}

function newKey(): string {
  return globalThis.crypto.randomUUID();
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.clone().text();
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

/** The transport: its `fetch` goes to openapi-fetch, its `raw` client to the domain clients. */
export class Transport {
  readonly raw: RawClient;
  private refreshing: Promise<StoredSession | null> | null = null;
  private readOnly: ReadOnlyState = { readOnly: false, retryAfter: undefined };

  constructor(private readonly options: TransportOptions) {
    this.raw = createClient<paths>({
      baseUrl: options.baseUrl,
      fetch: (request) => this.send(request),
    });
  }

  /** The read-only state as the last answers showed it. */
  get readOnlyState(): ReadOnlyState {
    return this.readOnly;
  }

  /** Stores the session from a sign-in, registration or refresh answer. */
  async adopt(tokens: AuthTokens): Promise<void> {
    const previous = await this.options.session.get();
    const session: StoredSession = {
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token ?? null,
      userId: tokens.user.id,
      sessionId: tokens.session_id,
    };
    await this.options.session.set(previous?.sessionId === session.sessionId ? { ...previous, ...session } : session);
    this.options.events.emit("tokensChanged", { userId: session.userId, sessionId: session.sessionId });
  }

  /** Forgets the session and tells the listeners why. */
  async signOut(reason: string): Promise<void> {
    const had = await this.options.session.get();
    await this.options.session.clear();
    if (had) this.options.events.emit("signedOut", { reason });
  }

  /** The current access token, refreshing first when `stale` is the one still stored. */
  async accessToken(stale?: string): Promise<string | null> {
    const session = await this.options.session.get();
    if (!session) return null;
    if (stale !== undefined && session.accessToken === stale) {
      return (await this.refresh())?.accessToken ?? null;
    }
    return session.accessToken;
  }

  /**
   * Trades the refresh token for new tokens. Concurrent callers share one request
   * (single-flight). A refused refresh signs out; a network failure throws and keeps the session.
   */
  refresh(): Promise<StoredSession | null> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<StoredSession | null> {
    const session = await this.options.session.get();
    if (!session) return null;
    const response = await this.fetchWithTimeout(
      new Request(`${this.options.baseUrl}/v1/auth/refresh`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(session.refreshToken ? { refresh_token: session.refreshToken } : {}),
        credentials: "include",
      }),
      undefined,
    );
    const body = await readJson(response);
    if (!response.ok) {
      const error = errorFromResponse(response, body);
      if (response.status === 401) {
        await this.signOut(error.code);
        return null;
      }
      throw error;
    }
    await this.adopt((body as { data: AuthTokens }).data);
    return this.options.session.get();
  }

  private async fetchWithTimeout(request: Request, signal: AbortSignal | undefined): Promise<Response> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      return await this.options.fetch(new Request(request, { signal: combined }));
    } catch (cause) {
      if (timeout.aborted) {
        throw new ApiError({
          status: 0,
          code: "timeout",
          message: `no answer within ${this.options.timeoutMs} ms`,
          cause,
        });
      }
      if (signal?.aborted) throw cause;
      throw new ApiError({ status: 0, code: "network_error", message: String(cause), cause });
    }
  }

  /**
   * Sends one request for openapi-fetch: attaches the bearer token and an `Idempotency-Key`,
   * refreshes once on `token_expired` and retries once after a refresh or a lost answer
   * (with the same key), and tracks the read-only state.
   */
  async send(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
    const headers = new Headers(request.headers);
    const keyed = acceptsIdempotencyKey(request.method, path);
    if (keyed && !headers.has("idempotency-key")) headers.set("idempotency-key", newKey());
    const mayRetryLost = request.method === "GET" || keyed;
    const explicitAuth = headers.has("authorization");

    let token = explicitAuth ? null : await this.accessToken();
    let refreshed = false;
    let lostRetried = false;
    for (;;) {
      if (token) headers.set("authorization", `Bearer ${token}`);
      const attempt = new Request(request.url, {
        method: request.method,
        headers,
        body: body ?? null,
        credentials: request.credentials,
        redirect: request.redirect,
      });
      let response: Response;
      try {
        response = await this.fetchWithTimeout(attempt, request.signal);
      } catch (error) {
        if (mayRetryLost && !lostRetried && error instanceof ApiError && error.code === "network_error") {
          lostRetried = true;
          continue;
        }
        throw error;
      }
      if (response.status === 401 && token && !refreshed) {
        const code = ((await readJson(response)) as { error?: { code?: string } } | undefined)?.error?.code;
        if (code === "token_expired") {
          refreshed = true;
          token = await this.accessToken(token);
          if (token) continue;
        } else if (code === "session_revoked") {
          await this.signOut(code);
        }
      }
      await this.track(request.method, response);
      return response;
    }
  }

  private async track(method: string, response: Response): Promise<void> {
    if (!MUTATING.has(method)) return;
    let next: ReadOnlyState | null = null;
    if (response.status === 503) {
      const body = (await readJson(response)) as { error?: { code?: string } } | undefined;
      if (body?.error?.code === "read_only") {
        const value = Number(response.headers.get("retry-after"));
        next = { readOnly: true, retryAfter: Number.isFinite(value) ? value : undefined };
      }
    } else if (response.ok) {
      next = { readOnly: false, retryAfter: undefined };
    }
    if (next && next.readOnly !== this.readOnly.readOnly) {
      this.readOnly = next;
      this.options.events.emit("readOnlyChanged", next);
    }
  }
}

/** The data of a call, or the call's `ApiError`. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw errorFromResponse(response, error);
  return data as T;
}
