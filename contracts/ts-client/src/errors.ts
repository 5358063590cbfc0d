// The error every failed call throws: the API's error envelope, typed.

import type { components } from "./schema.js";

/** The error envelope the API sends with every non-2xx answer. */
export type ErrorEnvelope = components["schemas"]["ErrorEnvelope"];

/**
 * The stable codes of the API's error table (ARCHITECTURE.md), plus the client's own:
 * `timeout` (no answer within `timeoutMs`), `network_error` (no answer at all),
 * `http_error` (a non-2xx answer without an error envelope) and `signed_out` (a call that
 * needs a session made while none is stored).
 */
export type KnownErrorCode =
  | "validation_failed"
  | "malformed_json"
  | "unsupported_media_type"
  | "payload_too_large"
  | "not_found"
  | "method_not_allowed"
  | "token_missing"
  | "token_invalid"
  | "token_expired"
  | "session_revoked"
  | "invalid_credentials"
  | "refresh_token_invalid"
  | "session_expired"
  | "rate_limited"
  | "admin_only"
  | "account_disabled"
  | "current_password_incorrect"
  | "last_admin"
  | "badge_exists"
  | "identity_taken"
  | "provider_already_linked"
  | "last_sign_in_method"
  | "oauth_state_invalid"
  | "oauth_provider_error"
  | "request_timeout"
  | "not_ready"
  | "read_only"
  | "idempotency_key_mismatch"
  | "idempotency_key_in_progress"
  | "invalid_idempotency_key"
  | "email_taken"
  | "handle_taken"
  | "internal_error"
  | "timeout"
  | "network_error"
  | "http_error"
  | "signed_out";

/** Any code: the known ones autocomplete, codes added by later servers still type-check. */
export type ErrorCode = KnownErrorCode | (string & {});

/** Per-field problems of a `validation_failed` answer. */
export interface ValidationDetails {
  fields?: Record<string, { code: string; message: string }[]>;
}

/** What `details` holds for the codes that define it; an object for the others. */
export type DetailsOf<C extends ErrorCode> = C extends "validation_failed"
  ? ValidationDetails
  : C extends "rate_limited"
    ? { retry_after_seconds?: number }
    : Record<string, unknown>;

/**
 * A failed call. Narrow it by `code` with {@link isApiError}:
 * `if (isApiError(e, "validation_failed")) e.details.fields`.
 */
export class ApiError<C extends ErrorCode = ErrorCode> extends Error {
  /** HTTP status; 0 when no answer arrived (`timeout`, `network_error`). */
  readonly status: number;
  /** The stable, machine-readable code. */
  readonly code: C;
  readonly details: DetailsOf<C>;
  /** The server's request id (`meta.request_id` / `x-request-id`), for support. */
  readonly requestId: string | undefined;
  /** Seconds from `Retry-After`, when the answer had one. */
  readonly retryAfter: number | undefined;

  constructor(init: {
    status: number;
    code: C;
    message: string;
    details?: DetailsOf<C>;
    requestId?: string | undefined;
    retryAfter?: number | undefined;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "ApiError";
    this.status = init.status;
    this.code = init.code;
    this.details = init.details ?? ({} as DetailsOf<C>);
    this.requestId = init.requestId;
    this.retryAfter = init.retryAfter;
  }
}

/** Whether `error` is an {@link ApiError}, and (with `code`) one of that code. */
export function isApiError<C extends ErrorCode>(
  error: unknown,
  ...codes: C[]
): error is ApiError<C> {
  return error instanceof ApiError && (codes.length === 0 || codes.includes(error.code as C));
}

function isEnvelope(value: unknown): value is ErrorEnvelope {
  if (typeof value !== "object" || value === null || !("error" in value)) return false;
  const error = (value as { error: unknown }).error;
  return typeof error === "object" && error !== null && "code" in error && "message" in error;
}

function retryAfterOf(response: Response): number | undefined {
  const value = response.headers.get("retry-after");
  if (value === null) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) ? seconds : undefined;
}

/** The {@link ApiError} for a non-2xx answer whose body was `body` (parsed JSON or text). */
export function errorFromResponse(response: Response, body: unknown): ApiError {
  const requestId = response.headers.get("x-request-id") ?? undefined;
  const retryAfter = retryAfterOf(response);
  if (isEnvelope(body)) {
    return new ApiError({
      status: response.status,
      code: body.error.code,
      message: body.error.message,
      details: (body.error.details ?? {}) as Record<string, unknown>,
      requestId: body.meta?.request_id ?? requestId,
      retryAfter,
    });
  }
  return new ApiError({
    status: response.status,
    code: "http_error",
    message: `HTTP ${response.status}`,
    requestId,
    retryAfter,
  });
}
