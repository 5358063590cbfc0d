// Where the signed-in session lives between page loads.

/**
 * A key-value store for the session. `localStorage` and `sessionStorage` fit as they are;
 * asynchronous stores (React Native's AsyncStorage, IndexedDB wrappers) fit too.
 */
export interface SessionStorage {
  getItem(key: string): string | null | Promise<string | null>;
  setItem(key: string, value: string): void | Promise<void>;
  removeItem(key: string): void | Promise<void>;
}

/** What the client keeps of a signed-in session. */
export interface StoredSession {
  accessToken: string;
  /** `null` when the refresh token travels as an httpOnly cookie. */
  refreshToken: string | null;
  userId: string;
  sessionId: string;
}

/** A store that forgets everything when the process ends (the default). */
export function memoryStorage(): SessionStorage {
  const values = new Map<string, string>();
  return {
    getItem: (key) => values.get(key) ?? null,
    setItem: (key, value) => void values.set(key, value),
    removeItem: (key) => void values.delete(key),
  };
}

const KEY = "vendrome.session";

/** The session slot: a read-through copy in memory over the given storage. */
export class SessionSlot {
  private cached: StoredSession | null | undefined;

  constructor(private readonly storage: SessionStorage) {}

  async get(): Promise<StoredSession | null> {
    if (this.cached === undefined) {
      const raw = await this.storage.getItem(KEY);
      this.cached = raw ? (JSON.parse(raw) as StoredSession) : null;
    }
    return this.cached;
  }

  async set(session: StoredSession): Promise<void> {
    this.cached = session;
    await this.storage.setItem(KEY, JSON.stringify(session));
  }

  async clear(): Promise<void> {
    this.cached = null;
    await this.storage.removeItem(KEY);
  }
}
