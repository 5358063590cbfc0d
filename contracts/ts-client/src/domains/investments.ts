// Investments: crowdfunding campaigns made from a founder's crowdfunding post, commitments paid
// into the campaign's escrow (and withdrawn until 48 hours before the deadline), an admin's
// review of held commitments, and the deal flow between investment offers and requests.

import type { Transport } from "../http.js";
import { unwrap } from "../http.js";
import { Paged } from "../pagination.js";
import type { BodyOf, ListQuery } from "../types.js";
import { cursorOf, defined } from "./shared.js";

export type CreateCampaignInput = BodyOf<"/v1/investments/campaigns", "post">;
export type InvestmentCampaignsQuery = ListQuery<"/v1/investments/campaigns">;
export type CommitInput = BodyOf<"/v1/investments/campaigns/{id}/commitments", "post">;
export type CommitmentCheckoutInput = BodyOf<"/v1/investments/commitments/{id}/checkout", "post">;
export type ReviewInput = BodyOf<"/v1/admin/investments/commitments/{id}/review", "post">;
export type InterestInput = BodyOf<"/v1/investments/interests", "post">;

/** The `Idempotency-Key` header, when the caller gives one (a retry with it is answered once). */
function keyed(idempotencyKey: string | undefined): { header?: { "Idempotency-Key": string } } {
  return idempotencyKey === undefined ? {} : { header: { "Idempotency-Key": idempotencyKey } };
}

export function investmentsClient({ raw }: Transport) {
  return {
    /** Makes a draft campaign from the caller's crowdfunding post. */
    async createCampaign(input: CreateCampaignInput) {
      return (await unwrap(raw.POST("/v1/investments/campaigns", { body: input }))).data;
    },
    /** Campaigns (not drafts, but the caller's own), filtered, `newest`, `ending_soon` or `most_funded`. */
    campaigns(query: InvestmentCampaignsQuery = {}) {
      return new Paged(async (cursor) =>
        unwrap(raw.GET("/v1/investments/campaigns", { params: { query: { ...defined(query), ...cursorOf(cursor) } } })),
      );
    },
    /** One campaign with its raised amount, backers and percent funded. */
    async campaign(id: string) {
      return (await unwrap(raw.GET("/v1/investments/campaigns/{id}", { params: { path: { id } } }))).data;
    },
    /** Takes a draft live (a business-verified founder); its terms are fixed from then on. */
    async publish(id: string) {
      return (await unwrap(raw.POST("/v1/investments/campaigns/{id}/publish", { params: { path: { id } } }))).data;
    },
    /** Cancels a draft or live campaign; confirmed commitments are refunded. */
    async cancel(id: string) {
      return (await unwrap(raw.POST("/v1/investments/campaigns/{id}/cancel", { params: { path: { id } } }))).data;
    },
    /** Commits to a campaign: `payment` says what to do next, or is `null` while an admin reviews it. */
    async commit(campaignId: string, input: CommitInput, idempotencyKey?: string) {
      return (
        await unwrap(
          raw.POST("/v1/investments/campaigns/{id}/commitments", {
            params: { path: { id: campaignId }, ...keyed(idempotencyKey) },
            body: input,
          }),
        )
      ).data;
    },
    /** Pays a commitment awaiting payment (one approved after review). */
    async checkout(id: string, input: CommitmentCheckoutInput = {}, idempotencyKey?: string) {
      return (
        await unwrap(
          raw.POST("/v1/investments/commitments/{id}/checkout", {
            params: { path: { id }, ...keyed(idempotencyKey) },
            body: input,
          }),
        )
      ).data;
    },
    /** One commitment (its backer, the founder or an admin). */
    async commitment(id: string) {
      return (await unwrap(raw.GET("/v1/investments/commitments/{id}", { params: { path: { id } } }))).data;
    },
    /** The caller's commitments, newest first. */
    myCommitments() {
      return new Paged(async (cursor) =>
        unwrap(raw.GET("/v1/me/investments/commitments", { params: { query: cursorOf(cursor) } })),
      );
    },
    /** Withdraws a confirmed commitment (until 48 hours before the deadline): the refund. */
    async withdraw(id: string) {
      return (await unwrap(raw.POST("/v1/investments/commitments/{id}/withdraw", { params: { path: { id } } }))).data;
    },
    /** An admin approves or rejects a commitment held for review. */
    async review(id: string, input: ReviewInput) {
      return (
        await unwrap(raw.POST("/v1/admin/investments/commitments/{id}/review", { params: { path: { id } }, body: input }))
      ).data;
    },
    /** The caller's deal flow, best score first, each match with its reasons. */
    matches() {
      return new Paged(async (cursor) =>
        unwrap(raw.GET("/v1/investments/matches", { params: { query: cursorOf(cursor) } })),
      );
    },
    /** Interest in an offer or request: a message in the direct conversation with its author. */
    async interest(input: InterestInput) {
      return (await unwrap(raw.POST("/v1/investments/interests", { body: input }))).data;
    },
  };
}
