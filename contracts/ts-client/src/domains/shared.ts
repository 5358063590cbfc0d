import type { Transport } from "../http.js";

/** Drops `undefined` members, so optional parameters fit `exactOptionalPropertyTypes`. */
export function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The cursor parameter of the next page, when there is one. */
export function cursorOf(cursor: string | undefined): { cursor?: string } {
  return cursor === undefined ? {} : { cursor };
}

/** What every domain client is built from. */
export interface DomainContext {
  transport: Transport;
}
