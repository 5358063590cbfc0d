// Friendly names for the generated types (all derived from `paths` and `components`).

import type { components, paths } from "./schema.js";

type Schemas = components["schemas"];

/** The query parameters of a GET operation, without the cursor (the iterators keep it). */
export type ListQuery<P extends keyof paths> = paths[P] extends { get: { parameters: { query?: infer Q } } }
  ? Omit<NonNullable<Q>, "cursor">
  : never;

/** The JSON body of an operation. */
export type BodyOf<P extends keyof paths, M extends "post" | "put" | "patch"> = paths[P][M] extends {
  requestBody?: { content: { "application/json": infer B } };
}
  ? B
  : never;

export type Account = Schemas["AccountView"];
export type Post = Schemas["PostView"];
export type PostType = Schemas["PostType"];
export type FeedItem = Schemas["FeedItemView"];
export type Message = Schemas["MessageView"];
export type Conversation = Schemas["ConversationView"];
export type Flag = Schemas["FlagView"];
export type CalendarIntegration = Schemas["IntegrationView"];
export type UserId = Schemas["UserId"];
export type Order = Schemas["OrderView"];
export type Payment = Schemas["PaymentView"];
export type PaymentMethod = Schemas["MethodView"];
export type Campaign = Schemas["CampaignView"];
export type CampaignStatsBucket = Schemas["StatsBucketView"];
export type IngestReport = Schemas["IngestReport"];
export type ProviderHealth = Schemas["ProviderHealthView"];
