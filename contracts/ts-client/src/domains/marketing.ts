// Marketing campaigns: creating and targeting a campaign, its moves, funding its budget through
// a checkout, refunding an ended campaign's unspent remainder, the audience estimate, reporting
// impressions and clicks, the stats of the dashboard, and the caller's direct-marketing consent.

import type { Transport } from "../http.js";
import { unwrap } from "../http.js";
import { Paged } from "../pagination.js";
import type { BodyOf, ListQuery } from "../types.js";
import { cursorOf, defined } from "./shared.js";

export type CreateCampaignInput = BodyOf<"/v1/marketing/campaigns", "post">;
export type UpdateCampaignInput = BodyOf<"/v1/marketing/campaigns/{id}", "patch">;
export type FundCampaignInput = BodyOf<"/v1/marketing/campaigns/{id}/fund", "post">;
export type AudienceEstimateInput = BodyOf<"/v1/marketing/audience-estimate", "post">;
export type CampaignEventsInput = BodyOf<"/v1/marketing/events", "post">;
export type MarketingSettingsInput = BodyOf<"/v1/me/settings/marketing", "put">;
export type CampaignsQuery = ListQuery<"/v1/marketing/campaigns">;
export type CampaignStatsQuery = ListQuery<"/v1/marketing/campaigns/{id}/stats">;
type CampaignMove = "submit" | "pause" | "resume" | "cancel";

function keyed(idempotencyKey: string | undefined): { header?: { "Idempotency-Key": string } } {
  return idempotencyKey === undefined ? {} : { header: { "Idempotency-Key": idempotencyKey } };
}

export function marketingClient({ raw }: Transport) {
  const move = async (id: string, action: CampaignMove) => {
    const params = { params: { path: { id } } };
    switch (action) {
      case "submit":
        return (await unwrap(raw.POST("/v1/marketing/campaigns/{id}/submit", params))).data;
      case "pause":
        return (await unwrap(raw.POST("/v1/marketing/campaigns/{id}/pause", params))).data;
      case "resume":
        return (await unwrap(raw.POST("/v1/marketing/campaigns/{id}/resume", params))).data;
      case "cancel":
        return (await unwrap(raw.POST("/v1/marketing/campaigns/{id}/cancel", params))).data;
    }
  };
  return {
    /** Creates a draft campaign promoting one of the caller's own posts. */
    async create(input: CreateCampaignInput, idempotencyKey?: string) {
      return (
        await unwrap(raw.POST("/v1/marketing/campaigns", { params: keyed(idempotencyKey), body: input }))
      ).data;
    },
    /** The caller's campaigns, newest first, optionally of one status. */
    mine(query: CampaignsQuery = {}) {
      return new Paged(async (cursor) =>
        unwrap(raw.GET("/v1/marketing/campaigns", { params: { query: { ...defined(query), ...cursorOf(cursor) } } })),
      );
    },
    /** One of the caller's campaigns. */
    async get(id: string) {
      return (await unwrap(raw.GET("/v1/marketing/campaigns/{id}", { params: { path: { id } } }))).data;
    },
    /** Changes a draft (before it is submitted) or a paused campaign. */
    async update(id: string, input: UpdateCampaignInput) {
      return (await unwrap(raw.PATCH("/v1/marketing/campaigns/{id}", { params: { path: { id } }, body: input })))
        .data;
    },
    /** `submit` a draft (then fund it), `pause`, `resume` or `cancel`. */
    move,
    /** Pays the submitted draft's budget: follow `next_action`; its success schedules the campaign. */
    async fund(id: string, input: FundCampaignInput = {}, idempotencyKey?: string) {
      return (
        await unwrap(
          raw.POST("/v1/marketing/campaigns/{id}/fund", { params: { path: { id }, ...keyed(idempotencyKey) }, body: input }),
        )
      ).data;
    },
    /**
     * Refunds an ended (completed or cancelled) campaign's unspent remainder to the payer. The key
     * is required: a retry with it answers the same refund and moves no money twice.
     */
    async refund(id: string, idempotencyKey: string) {
      return (
        await unwrap(
          raw.POST("/v1/marketing/campaigns/{id}/refund", {
            params: { path: { id }, header: { "Idempotency-Key": idempotencyKey } },
          }),
        )
      ).data;
    },
    /** How many members who opted in match a targeting now. */
    async estimate(input: AudienceEstimateInput) {
      return (await unwrap(raw.POST("/v1/marketing/audience-estimate", { body: input }))).data;
    },
    /** Reports up to 1,000 impressions and clicks; each event id counts once. */
    async report(input: CampaignEventsInput) {
      return (await unwrap(raw.POST("/v1/marketing/events", { body: input }))).data;
    },
    /** Impressions, clicks, CTR and spend per hour or day (the JSON form). */
    async stats(id: string, query: CampaignStatsQuery = {}) {
      return (
        await unwrap(
          raw.GET("/v1/marketing/campaigns/{id}/stats", { params: { path: { id }, query: defined(query) } }),
        )
      ).data;
    },
    /** Whether sponsored content may be targeted at the caller (off until they opt in). */
    async settings() {
      return (await unwrap(raw.GET("/v1/me/settings/marketing"))).data;
    },
    async setSettings(input: MarketingSettingsInput) {
      return (await unwrap(raw.PUT("/v1/me/settings/marketing", { body: input }))).data;
    },
  };
}
