// The realtime gateway's client (docs/realtime.md): auth frame, heartbeats, reconnect with
// backoff and `last_event_id` resume, duplicate frames dropped by id, typed events.

import { Emitter } from "./events.js";
import type { Transport } from "./http.js";
import type { Message } from "./types.js";

/** `data` of each server frame type. */
export interface RealtimeEventMap {
  ready: { user_id: string; heartbeat_seconds: number };
  "message.created": Message;
  "message.updated": Message;
  "message.deleted": { conversation_id: string; message_id: string };
  "message.delivered": { conversation_id: string; message_id: string; user_id: string };
  "message.read": { conversation_id: string; user_id: string; message_id: string };
  "typing.started": { conversation_id: string; user_id: string; expires_in_ms: number };
  "typing.stopped": { conversation_id: string; user_id: string };
  "presence.updated": { user_id: string; status: "online" | "away" | "offline" };
  "presence.state": { members: { user_id: string; status: "online" | "away" | "offline" }[] };
  "conversation.created": Record<string, unknown>;
  "conversation.updated": Record<string, unknown>;
  "conversation.member_added": Record<string, unknown>;
  "conversation.member_removed": Record<string, unknown>;
  "conversation.member_role_changed": Record<string, unknown>;
  /** A flag's base state changed: read `flags.list()` again for your own evaluation. */
  "flags.changed": { name: string; enabled: boolean; rollout_percent: number };
  "resync.required": { reason: string };
  pong: Record<string, never>;
  error: { code: string; message: string };
}

export type RealtimeEventType = keyof RealtimeEventMap;

/** A server frame, discriminated by `type`. */
export type RealtimeFrame<T extends RealtimeEventType = RealtimeEventType> = {
  [K in T]: { id: string; type: K; at: string; data: RealtimeEventMap[K] };
}[T];

/** Frames the client sends. */
export type ClientFrame =
  | { type: "typing.start" | "typing.stop"; conversation_id: string }
  | { type: "message.delivered"; message_id: string }
  | { type: "message.read"; conversation_id: string; message_id: string }
  | { type: "presence.set"; status: "online" | "away" }
  | { type: "presence.query"; user_ids: string[] }
  | { type: "ping" };

/** `connecting` (first time), `open` (signed in), `reconnecting`, `closed` (for good). */
export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

/** The part of the WebSocket API the client uses (the browser's, or the `ws` package's). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface RealtimeOptions {
  /** The WebSocket class; the global one when absent (browsers, Node ≥ 22). */
  WebSocket?: WebSocketConstructor;
  /** First reconnect delay; doubles per failed attempt up to `maxBackoffMs`, with jitter. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** How many frame ids to remember for dropping duplicates. */
  dedupeWindow?: number;
}

type Listener<T extends RealtimeEventType> = (data: RealtimeEventMap[T], frame: RealtimeFrame<T>) => void;

const OPEN = 1;
const RESUMABLE_SKIP = new Set<string>(["ready", "pong", "error"]);

/** One socket per client, kept open until `close()`. */
export class RealtimeClient {
  private socket: WebSocketLike | null = null;
  private stateValue: ConnectionState = "closed";
  private attempts = 0;
  private lastId: string | undefined;
  private readonly seen = new Set<string>();
  private readonly frames = new Emitter<{ [K in RealtimeEventType]: RealtimeFrame<K> }>();
  private readonly states = new Emitter<{ state: ConnectionState }>();
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private lastFrameAt = 0;
  private readonly options: Required<Omit<RealtimeOptions, "WebSocket">> & { WebSocket?: WebSocketConstructor };

  constructor(
    private readonly transport: Transport,
    private readonly url: string,
    options: RealtimeOptions = {},
  ) {
    this.options = {
      initialBackoffMs: options.initialBackoffMs ?? 500,
      maxBackoffMs: options.maxBackoffMs ?? 30_000,
      dedupeWindow: options.dedupeWindow ?? 2_000,
      ...(options.WebSocket ? { WebSocket: options.WebSocket } : {}),
    };
  }

  /** The connection's state. */
  get state(): ConnectionState {
    return this.stateValue;
  }

  /** The id of the last frame received: sent as `last_event_id` on reconnect. */
  get lastEventId(): string | undefined {
    return this.lastId;
  }

  /** Opens the socket (and keeps reopening it until `close()`). */
  connect(): void {
    if (this.stateValue !== "closed") return;
    this.setState("connecting");
    this.open();
  }

  /** Closes the socket for good. */
  close(): void {
    this.setState("closed");
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeatTimer);
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, "client closed");
  }

  /** Listens to one frame type; returns the unsubscribe function. Duplicates never reach it. */
  on<T extends RealtimeEventType>(type: T, listener: Listener<T>): () => void {
    return this.frames.on(type, (frame) => listener(frame.data, frame));
  }

  /** Listens to state changes. */
  onState(listener: (state: ConnectionState) => void): () => void {
    return this.states.on("state", listener);
  }

  /** Sends a frame; `false` when the socket is not signed in right now. */
  send(frame: ClientFrame): boolean {
    if (this.stateValue !== "open" || this.socket?.readyState !== OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  /** Waits for the next frame of a type that `predicate` accepts. */
  next<T extends RealtimeEventType>(
    type: T,
    predicate: (data: RealtimeEventMap[T]) => boolean = () => true,
  ): Promise<RealtimeFrame<T>> {
    return new Promise((resolve) => {
      const off = this.on(type, (data, frame) => {
        if (!predicate(data)) return;
        off();
        resolve(frame);
      });
    });
  }

  private setState(state: ConnectionState): void {
    if (state === this.stateValue) return;
    this.stateValue = state;
    this.states.emit("state", state);
  }

  private open(): void {
    const Ctor = this.options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor) throw new Error("no WebSocket implementation: pass `realtime: { WebSocket }`");
    const socket = new Ctor(this.url);
    this.socket = socket;
    socket.onopen = () => {
      void this.authenticate(socket);
    };
    socket.onmessage = (event) => {
      if (socket === this.socket) this.receive(event.data);
    };
    socket.onerror = () => {};
    socket.onclose = (event) => {
      if (socket === this.socket) void this.closed(event.code);
    };
  }

  private async authenticate(socket: WebSocketLike): Promise<void> {
    const token = await this.transport.accessToken();
    if (socket !== this.socket) return;
    if (!token) {
      this.close();
      return;
    }
    socket.send(JSON.stringify({ type: "auth", token, ...(this.lastId ? { last_event_id: this.lastId } : {}) }));
  }

  private receive(raw: unknown): void {
    this.lastFrameAt = Date.now();
    let frame: RealtimeFrame;
    try {
      frame = JSON.parse(typeof raw === "string" ? raw : String(raw)) as RealtimeFrame;
    } catch {
      return;
    }
    if (typeof frame?.id !== "string" || typeof frame.type !== "string") return;
    if (this.seen.has(frame.id)) return;
    this.remember(frame.id);
    if (!RESUMABLE_SKIP.has(frame.type)) this.lastId = frame.id;
    if (frame.type === "ready") {
      this.attempts = 0;
      this.setState("open");
      this.startHeartbeat(frame.data.heartbeat_seconds);
    }
    this.frames.emit(frame.type, frame as never);
  }

  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > this.options.dedupeWindow) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }

  /** Pings every interval; a socket silent for two intervals is presumed dead and reopened. */
  private startHeartbeat(seconds: number): void {
    clearInterval(this.heartbeatTimer);
    const interval = Math.max(1, seconds) * 1000;
    this.heartbeatTimer = setInterval(() => {
      if (Date.now() - this.lastFrameAt > 2 * interval) {
        this.socket?.close(4000, "heartbeat timeout");
        return;
      }
      this.send({ type: "ping" });
    }, interval);
    (this.heartbeatTimer as { unref?: () => void }).unref?.();
  }

  private async closed(code: number): Promise<void> {
    clearInterval(this.heartbeatTimer);
    this.socket = null;
    if (this.stateValue === "closed") return;
    if (code === 4403) {
      await this.transport.signOut("session_ended");
      this.close();
      return;
    }
    this.setState("reconnecting");
    if (code === 4401) {
      try {
        await this.transport.refresh();
      } catch {
        // The reconnect below tries again with whatever token is stored.
      }
      if (!(await this.transport.accessToken())) {
        this.close();
        return;
      }
    }
    const base = Math.min(this.options.maxBackoffMs, this.options.initialBackoffMs * 2 ** this.attempts);
    this.attempts += 1;
    const delay = base / 2 + Math.random() * (base / 2);
    this.reconnectTimer = setTimeout(() => {
      if (this.stateValue !== "closed") this.open();
    }, delay);
  }
}
