// The client's events: a tiny typed emitter.

/** Why the client signed out: the server's code (`session_revoked`, `session_expired`, …) or `logout`. */
export interface SignedOutEvent {
  reason: string;
}

/** The server's read-only mode as last seen: mutations answer 503 `read_only` while it lasts. */
export interface ReadOnlyState {
  readOnly: boolean;
  /** Seconds the server suggested waiting (`Retry-After`), when it was read-only. */
  retryAfter: number | undefined;
}

/** Events of a client and the payload of each. */
export interface ClientEvents {
  /** The session ended: revoked, expired, refused at refresh, or signed out on purpose. */
  signedOut: SignedOutEvent;
  /** New tokens were stored (sign-in or refresh). */
  tokensChanged: { userId: string; sessionId: string };
  /** The read-only state changed. */
  readOnlyChanged: ReadOnlyState;
}

type Listener<T> = (payload: T) => void;

/** Subscribes and emits typed events; `on` returns the unsubscribe function. */
export class Emitter<E extends object> {
  private readonly listeners = new Map<keyof E, Set<Listener<never>>>();

  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  emit<K extends keyof E>(event: K, payload: E[K]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      (listener as Listener<E[K]>)(payload);
    }
  }
}
