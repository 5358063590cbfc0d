// @vendrome/client: the typed client of the Vendrome API.
//
//   const client = createVendromeClient({ baseUrl: "https://api.example.com" });
//   await client.auth.login({ email, password });
//   for await (const item of client.feed.home()) console.log(item.post.body);
//   client.realtime.on("message.created", (message) => …);
//   client.realtime.connect();

import { authClient } from "./domains/auth.js";
import { calendarClient } from "./domains/calendar.js";
import { ordersClient, paymentsClient } from "./domains/commerce.js";
import { flagsClient } from "./domains/flags.js";
import { marketingClient } from "./domains/marketing.js";
import { investmentsClient } from "./domains/investments.js";
import { paymentProvidersClient } from "./domains/payment_providers.js";
import { messagesClient } from "./domains/messages.js";
import { feedClient, postsClient } from "./domains/posts.js";
import { connectionsClient, profilesClient, searchClient } from "./domains/social.js";
import type { ClientEvents, ReadOnlyState } from "./events.js";
import { Emitter } from "./events.js";
import { Transport } from "./http.js";
import type { RealtimeOptions } from "./realtime.js";
import { RealtimeClient } from "./realtime.js";
import type { SessionStorage, StoredSession } from "./storage.js";
import { SessionSlot, memoryStorage } from "./storage.js";

export interface VendromeClientOptions {
  /** Origin of the API, e.g. `https://api.example.com` (no trailing path). */
  baseUrl: string;
  /** Where the session is kept; in memory when absent. `localStorage` fits. */
  storage?: SessionStorage;
  /** The `fetch` to use; the global one when absent. */
  fetch?: (request: Request) => Promise<Response>;
  /** Per-request timeout (default 15 s); a call past it throws `ApiError` `timeout`. */
  timeoutMs?: number;
  /** Realtime options (the WebSocket class on Node < 22, backoff). */
  realtime?: RealtimeOptions;
}

/** Creates a client. Nothing is sent until a call is made. */
export function createVendromeClient(options: VendromeClientOptions) {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const events = new Emitter<ClientEvents>();
  const session = new SessionSlot(options.storage ?? memoryStorage());
  const fetchImpl = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  const transport = new Transport({ baseUrl, fetch: fetchImpl, session, timeoutMs: options.timeoutMs ?? 15_000, events });
  const wsUrl = `${baseUrl.replace(/^http/, "ws")}/v1/ws`;
  return {
    auth: authClient(transport),
    posts: postsClient(transport),
    feed: feedClient(transport),
    connections: connectionsClient(transport),
    messages: messagesClient(transport),
    profiles: profilesClient(transport),
    search: searchClient(transport),
    flags: flagsClient(transport),
    calendar: calendarClient(transport),
    orders: ordersClient(transport),
    payments: paymentsClient(transport),
    marketing: marketingClient(transport),
    investments: investmentsClient(transport),
    paymentProviders: paymentProvidersClient(transport),
    realtime: new RealtimeClient(transport, wsUrl, options.realtime),
    /** The typed openapi-fetch client, for endpoints without a friendly name yet. */
    raw: transport.raw,
    /** Subscribes to `signedOut`, `tokensChanged` or `readOnlyChanged`. */
    on: events.on.bind(events),
    /** The stored session, or `null` when signed out. */
    session: (): Promise<StoredSession | null> => session.get(),
    /** The server's read-only mode as the last answers showed it. */
    readOnly: (): ReadOnlyState => transport.readOnlyState,
  };
}

export type VendromeClient = ReturnType<typeof createVendromeClient>;

export { ApiError, isApiError } from "./errors.js";
export type { DetailsOf, ErrorCode, ErrorEnvelope, KnownErrorCode, ValidationDetails } from "./errors.js";
export type { ClientEvents, ReadOnlyState, SignedOutEvent } from "./events.js";
export type { AuthTokens } from "./http.js";
export { Paged } from "./pagination.js";
export type { Page } from "./pagination.js";
export { RealtimeClient } from "./realtime.js";
export type {
  ClientFrame,
  ConnectionState,
  RealtimeEventMap,
  RealtimeEventType,
  RealtimeFrame,
  RealtimeOptions,
  WebSocketConstructor,
  WebSocketLike,
} from "./realtime.js";
export { memoryStorage } from "./storage.js";
export type { SessionStorage, StoredSession } from "./storage.js";
export type * from "./types.js";
export type { components, paths } from "./schema.js";
