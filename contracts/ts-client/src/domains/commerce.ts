// Product orders and their payments: placing an order, paying it (the sandbox or a provider),
// the moves of its life, and the caller's payments.

import type { Transport } from "../http.js";
import { unwrap } from "../http.js";
import { Paged } from "../pagination.js";
import type { BodyOf, ListQuery } from "../types.js";
import { cursorOf, defined } from "./shared.js";

export type CreateOrderInput = BodyOf<"/v1/orders", "post">;
export type CheckoutInput = BodyOf<"/v1/orders/{id}/checkout", "post">;
export type RefundInput = BodyOf<"/v1/orders/{id}/refunds", "post">;
export type MyOrdersQuery = ListQuery<"/v1/me/orders">;

/** The `Idempotency-Key` header, when the caller gives one (a retry with it is answered once). */
function keyed(idempotencyKey: string | undefined): { header?: { "Idempotency-Key": string } } {
  return idempotencyKey === undefined ? {} : { header: { "Idempotency-Key": idempotencyKey } };
}

export function ordersClient({ raw }: Transport) {
  return {
    /** Places an order; stock is reserved at once. Pass the same key to retry safely. */
    async create(input: CreateOrderInput, idempotencyKey?: string) {
      return (await unwrap(raw.POST("/v1/orders", { params: keyed(idempotencyKey), body: input }))).data;
    },
    /** One order (its buyer, its seller or an admin). */
    async get(id: string) {
      return (await unwrap(raw.GET("/v1/orders/{id}", { params: { path: { id } } }))).data;
    },
    /** The caller's orders as buyer (the default) or seller, newest first. */
    mine(query: MyOrdersQuery = {}) {
      return new Paged(async (cursor) =>
        unwrap(raw.GET("/v1/me/orders", { params: { query: { ...defined(query), ...cursorOf(cursor) } } })),
      );
    },
    /** Pays the order (its buyer): follow `next_action` (a `redirect` URL, a `client_secret`). */
    async checkout(id: string, input: CheckoutInput = {}, idempotencyKey?: string) {
      return (
        await unwrap(
          raw.POST("/v1/orders/{id}/checkout", { params: { path: { id }, ...keyed(idempotencyKey) }, body: input }),
        )
      ).data;
    },
    /** Calls the order off: unpaid (buyer or seller), or paid and unshipped (seller: a full refund). */
    async cancel(id: string) {
      return (await unwrap(raw.POST("/v1/orders/{id}/cancel", { params: { path: { id } } }))).data;
    },
    /** The seller has shipped it. */
    async fulfil(id: string) {
      return (await unwrap(raw.POST("/v1/orders/{id}/fulfil", { params: { path: { id } } }))).data;
    },
    /** The buyer confirms it arrived. */
    async complete(id: string) {
      return (await unwrap(raw.POST("/v1/orders/{id}/complete", { params: { path: { id } } }))).data;
    },
    /** Refunds `amount` minor units, or the rest of the total (the seller or an admin). */
    async refund(id: string, input: RefundInput = {}, idempotencyKey?: string) {
      return (
        await unwrap(
          raw.POST("/v1/orders/{id}/refunds", { params: { path: { id }, ...keyed(idempotencyKey) }, body: input }),
        )
      ).data;
    },
  };
}

export function paymentsClient({ raw }: Transport) {
  return {
    /** One payment (its payer, its payee or an admin). */
    async get(id: string) {
      return (await unwrap(raw.GET("/v1/payments/{id}", { params: { path: { id } } }))).data;
    },
    /** The caller's payments as payer or payee, newest first. */
    mine() {
      return new Paged(async (cursor) =>
        unwrap(raw.GET("/v1/me/payments", { params: { query: cursorOf(cursor) } })),
      );
    },
    /** The providers and methods that take `currency`, in the order routing picks them. */
    async methods(currency: string, country?: string) {
      return (
        await unwrap(raw.GET("/v1/payments/methods", { params: { query: { currency, ...(country === undefined ? {} : { country }) } } }))
      ).data;
    },
    /** Settles a sandbox payment as its page's Pay (`succeeded`) or Decline (`failed`) would. */
    async completeSandbox(id: string, outcome: "succeeded" | "failed") {
      return (
        await unwrap(raw.POST("/v1/payments/sandbox/{id}/complete", { params: { path: { id } }, body: { outcome } }))
      ).data;
    },
  };
}
