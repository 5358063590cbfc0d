// Typed sample client for the Vendrome HTTP API.
//
// Its only inputs are the types generated from contracts/openapi.json
// (`src/schema.d.ts`, made by `scripts/peers/typescript.sh`) and the platform
// `fetch`: no runtime libraries. CI type-checks it, so an API change that would
// break a typed frontend (a renamed field, a removed status code, a new
// required body member...) fails the build.

import type { paths } from "./schema";

// ---------------------------------------------------------------------------
// Type plumbing: everything is derived from `paths`.

type HttpMethod = "get" | "put" | "post" | "delete" | "patch" | "head" | "options" | "trace";

/** Path templates of the API, e.g. "/v1/flags". */
export type ApiPath = keyof paths;

/** Methods actually defined for a path (openapi-typescript marks the others `?: never`). */
export type MethodOf<P extends ApiPath> = {
  [M in HttpMethod]-?: undefined extends paths[P][M] ? never : M;
}[HttpMethod];

/** The operation object for a path + method. */
export type Operation<P extends ApiPath, M extends MethodOf<P>> = NonNullable<paths[P][M]>;

type JsonContent<T> = T extends { content: { "application/json": infer B } } ? B : never;
type ResponsesOf<O> = O extends { responses: infer R } ? R : never;
type PathParamsOf<O> = O extends { parameters: { path: infer PP } } ? PP : never;
type QueryOf<O> = O extends { parameters: { query: infer Q } } ? Q : never;
type OptionalQueryOf<O> = O extends { parameters: { query?: infer Q } } ? Q : never;
type BodyOf<O> = O extends { requestBody?: infer RB } ? JsonContent<NonNullable<RB>> : never;

/** Every documented response of an operation, as a union discriminated by `status`. */
export type ApiResponse<O> = {
  [S in keyof ResponsesOf<O>]: { status: S; body: JsonContent<ResponsesOf<O>[S]> };
}[keyof ResponsesOf<O>];

/** Options of `request`: path params / body are required exactly when the spec says so. */
export type RequestOptions<O> = ([PathParamsOf<O>] extends [never]
  ? { path?: undefined }
  : { path: PathParamsOf<O> }) &
  ([QueryOf<O>] extends [never]
    ? { query?: Exclude<OptionalQueryOf<O>, undefined> | undefined }
    : { query: QueryOf<O> }) &
  ([BodyOf<O>] extends [never] ? { body?: undefined } : { body: BodyOf<O> }) & {
    /** Bearer token, sent as `Authorization: Bearer <token>`. */
    token?: string | undefined;
    signal?: AbortSignal | undefined;
  };

// ---------------------------------------------------------------------------
// Response shapes used by the sample, referenced straight from `paths` so a
// schema change shows up here.

export type HealthResponse =
  paths["/healthz"]["get"]["responses"][200]["content"]["application/json"];
export type ReadyResponse =
  paths["/readyz"]["get"]["responses"][200]["content"]["application/json"];
export type FlagListResponse =
  paths["/v1/flags"]["get"]["responses"][200]["content"]["application/json"];
export type FlagResponse =
  paths["/v1/admin/flags/{name}"]["put"]["responses"][200]["content"]["application/json"];
export type Flag = FlagListResponse["data"][number];
export type SetFlagBody = NonNullable<
  paths["/v1/admin/flags/{name}"]["put"]["requestBody"]
>["content"]["application/json"];
export type AuthTokens =
  paths["/v1/auth/login"]["post"]["responses"][200]["content"]["application/json"]["data"];
export type Account = paths["/v1/me"]["get"]["responses"][200]["content"]["application/json"]["data"];
export type CalendarOccurrence =
  paths["/v1/calendar/events"]["get"]["responses"][200]["content"]["application/json"]["data"][number];
export type CalendarEvent =
  paths["/v1/calendar/events"]["post"]["responses"][201]["content"]["application/json"]["data"];
export type NewCalendarEvent = NonNullable<
  paths["/v1/calendar/events"]["post"]["requestBody"]
>["content"]["application/json"];
export type ErrorEnvelope =
  | paths["/readyz"]["get"]["responses"][503]["content"]["application/json"]
  | paths["/v1/admin/flags/{name}"]["put"]["responses"][401]["content"]["application/json"]
  | paths["/v1/admin/flags/{name}"]["put"]["responses"][403]["content"]["application/json"]
  | paths["/v1/admin/flags/{name}"]["put"]["responses"][404]["content"]["application/json"]
  | paths["/v1/admin/flags/{name}"]["put"]["responses"][422]["content"]["application/json"];

/** Thrown for any non-2xx answer; carries the API's error envelope when it sent one. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  readonly requestId: string | undefined;

  constructor(status: number, envelope: ErrorEnvelope | undefined, fallback: string) {
    super(envelope ? envelope.error.message : fallback);
    this.name = "ApiError";
    this.status = status;
    this.code = envelope ? envelope.error.code : "http_error";
    this.details = envelope ? envelope.error.details : undefined;
    this.requestId = envelope ? envelope.meta.request_id : undefined;
  }
}

// ---------------------------------------------------------------------------
// Runtime.

export interface ClientOptions {
  /** Origin (and optional prefix) of the API, e.g. "http://127.0.0.1:8080". Empty: same origin. */
  baseUrl?: string;
  /** Injected fetch (tests, custom agents). Defaults to the global one. */
  fetch?: typeof fetch;
}

function buildUrl(
  baseUrl: string,
  template: string,
  pathParams: Record<string, unknown> | undefined,
  query: Record<string, unknown> | undefined,
): string {
  const path = template.replace(/\{([^}]+)\}/g, (_match, key: string) => {
    const value = pathParams?.[key];
    if (value === undefined || value === null) {
      throw new Error(`missing path parameter "${key}" for ${template}`);
    }
    return encodeURIComponent(String(value));
  });
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      for (const item of value) search.append(key, String(item));
    } else {
      search.append(key, String(value));
    }
  }
  const qs = search.toString();
  return `${baseUrl.replace(/\/+$/, "")}${path}${qs ? `?${qs}` : ""}`;
}

function isErrorEnvelope(value: unknown): value is ErrorEnvelope {
  if (typeof value !== "object" || value === null || !("error" in value)) return false;
  const error = (value as { error: unknown }).error;
  return typeof error === "object" && error !== null && "code" in error && "message" in error;
}

export function createClient(options: ClientOptions = {}) {
  const baseUrl = options.baseUrl ?? "";
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);

  /**
   * Calls one documented operation. Returns every documented answer (2xx or
   * not) as `{status, body}`; throws `ApiError` only for undocumented statuses.
   */
  async function request<P extends ApiPath, M extends MethodOf<P>>(
    path: P,
    method: M,
    opts: RequestOptions<Operation<P, M>>,
  ): Promise<ApiResponse<Operation<P, M>>> {
    const { path: pathParams, query, body, token, signal } = opts as {
      path?: Record<string, unknown>;
      query?: Record<string, unknown>;
      body?: unknown;
      token?: string;
      signal?: AbortSignal;
    };
    const headers: Record<string, string> = { accept: "application/json" };
    if (token !== undefined) headers["authorization"] = `Bearer ${token}`;
    const init: RequestInit = { method: method.toUpperCase(), headers };
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (signal !== undefined) init.signal = signal;

    const response = await doFetch(buildUrl(baseUrl, path, pathParams, query), init);
    const text = await response.text();
    let parsed: unknown = undefined;
    if (text.length > 0 && (response.headers.get("content-type") ?? "").includes("json")) {
      parsed = JSON.parse(text) as unknown;
    }
    // The body is trusted to match the documented schema for that status
    // (schemathesis checks the server side of that promise in CI).
    return { status: response.status, body: parsed } as ApiResponse<Operation<P, M>>;
  }

  /** Unwraps a 2xx answer or throws an ApiError built from the error envelope. */
  function ok<R extends { status: PropertyKey; body: unknown }, S extends R["status"]>(
    response: R,
    expected: S,
  ): Extract<R, { status: S }>["body"] {
    if (response.status === expected) {
      return (response as Extract<R, { status: S }>).body;
    }
    const status = Number(response.status);
    throw new ApiError(
      status,
      isErrorEnvelope(response.body) ? response.body : undefined,
      `unexpected HTTP status ${status}`,
    );
  }

  /** `GET /healthz`: liveness; resolves to "ok". */
  async function health(): Promise<HealthResponse["data"]["status"]> {
    const envelope = ok(await request("/healthz", "get", {}), 200);
    return envelope.data.status;
  }

  /** `GET /readyz`: readiness; `false` when the server answered 503. */
  async function ready(): Promise<boolean> {
    const response = await request("/readyz", "get", {});
    if (response.status === 503) return false;
    const envelope: ReadyResponse = ok(response, 200);
    return envelope.data.status === "ready";
  }

  /** `GET /v1/flags`: all flags; the token is optional. */
  async function listFlags(token?: string): Promise<Flag[]> {
    const envelope: FlagListResponse = ok(await request("/v1/flags", "get", { token }), 200);
    return envelope.data;
  }

  /** `PUT /v1/admin/flags/{name}`: create or update a flag (admin token). */
  async function setFlag(token: string, name: string, change: SetFlagBody): Promise<Flag> {
    const response = await request("/v1/admin/flags/{name}", "put", {
      token,
      path: { name },
      body: change,
    });
    const envelope: FlagResponse = ok(response, 200);
    return envelope.data;
  }

  /** `POST /v1/auth/login`: a session's tokens. Keep `device_key` for the next sign-in. */
  async function login(email: string, password: string, deviceKey?: string): Promise<AuthTokens> {
    const body = deviceKey === undefined ? { email, password } : { email, password, device_key: deviceKey };
    return ok(await request("/v1/auth/login", "post", { body }), 200).data;
  }

  /** `POST /v1/auth/refresh`: the next access and refresh tokens (the old refresh token is spent). */
  async function refresh(refreshToken: string): Promise<AuthTokens> {
    return ok(await request("/v1/auth/refresh", "post", { body: { refresh_token: refreshToken } }), 200).data;
  }

  /** `GET /v1/me`: the signed-in account. */
  async function me(token: string): Promise<Account> {
    return ok(await request("/v1/me", "get", { token }), 200).data;
  }

  /** `GET /v1/calendar/events`: the caller's calendar in `[from, to)`, recurrences expanded. */
  async function calendar(token: string, from: string, to: string): Promise<CalendarOccurrence[]> {
    return ok(await request("/v1/calendar/events", "get", { token, query: { from, to } }), 200).data;
  }

  /** `POST /v1/calendar/events`: a new event in the caller's calendar. */
  async function createEvent(token: string, event: NewCalendarEvent): Promise<CalendarEvent> {
    return ok(await request("/v1/calendar/events", "post", { token, body: event }), 201).data;
  }

  return { request, health, ready, listFlags, setFlag, login, refresh, me, calendar, createEvent };
}

// A same-origin default instance, for the common browser case.
const defaultClient = createClient();
export const request = defaultClient.request;
export const health = defaultClient.health;
export const ready = defaultClient.ready;
export const listFlags = defaultClient.listFlags;
export const setFlag = defaultClient.setFlag;
export const login = defaultClient.login;
export const refresh = defaultClient.refresh;
export const me = defaultClient.me;
export const calendar = defaultClient.calendar;
export const createEvent = defaultClient.createEvent;

/** Greets the signed-in account; uses the role and verification level enums. */
export function describeAccount(account: Account): string {
  const role: "member" | "moderator" | "admin" = account.role;
  return `${account.display_name} <${account.email}> (${role}, ${account.verification_level})`;
}

/** One-line description of a flag; uses every documented field. */
export function describeFlag(flag: Flag): string {
  const state = flag.enabled ? `on for ${flag.rollout_percent}%` : "off";
  return `${flag.name}: ${state}${flag.description ? ` (${flag.description})` : ""}`;
}

/** One line per occurrence; uses the visibility and answer enums. */
export function describeOccurrence(occurrence: CalendarOccurrence): string {
  const visibility: "private" | "busy" | "public" = occurrence.event.visibility;
  const answer = occurrence.event.my_response ?? "owner";
  return `${occurrence.occurrence_starts_at} ${occurrence.event.title} (${visibility}, ${answer})`;
}
