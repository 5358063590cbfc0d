// The admin's view of the payment providers: each configured provider's health window and its
// state in rotation (healthy, eliminated until a time, or probing).

import type { Transport } from "../http.js";
import { unwrap } from "../http.js";
import { Paged } from "../pagination.js";
import type { ProviderHealth } from "../types.js";
import { cursorOf } from "./shared.js";

export type { ProviderHealth };

export function paymentProvidersClient({ raw }: Transport) {
  return {
    /** The configured providers in configuration order, with their health (admins only). */
    health() {
      return new Paged(async (cursor) =>
        unwrap(raw.GET("/v1/admin/payments/providers", { params: { query: cursorOf(cursor) } })),
      );
    },
  };
}
