// Connections, follows, blocks, profiles and search.

import type { Transport } from "../http.js";
import { unwrap } from "../http.js";
import { Paged } from "../pagination.js";
import type { BodyOf, ListQuery } from "../types.js";
import { cursorOf, defined } from "./shared.js";

export type ConnectInput = BodyOf<"/v1/connections", "post">;
export type UpdateProfileInput = BodyOf<"/v1/me/profile", "patch">;
export type SearchQuery = ListQuery<"/v1/search">;

export function connectionsClient({ raw }: Transport) {
  const byId = (id: string) => ({ params: { path: { id } } });
  return {
    /** Asks a member to connect. */
    async request(input: ConnectInput) {
      return (await unwrap(raw.POST("/v1/connections", { body: input }))).data;
    },
    async accept(id: string) {
      return (await unwrap(raw.POST("/v1/connections/{id}/accept", byId(id)))).data;
    },
    async decline(id: string) {
      return (await unwrap(raw.POST("/v1/connections/{id}/decline", byId(id)))).data;
    },
    async withdraw(id: string) {
      return (await unwrap(raw.POST("/v1/connections/{id}/withdraw", byId(id)))).data;
    },
    async remove(id: string): Promise<void> {
      await unwrap(raw.DELETE("/v1/connections/{id}", byId(id)));
    },
    /** The caller's connections and pending requests. */
    mine(query: ListQuery<"/v1/me/connections"> = {}) {
      return new Paged(async (cursor) =>
        unwrap(raw.GET("/v1/me/connections", { params: { query: { ...defined(query), ...cursorOf(cursor) } } })),
      );
    },
    async follow(userId: string): Promise<void> {
      await unwrap(raw.PUT("/v1/users/{id}/follow", byId(userId)));
    },
    async unfollow(userId: string): Promise<void> {
      await unwrap(raw.DELETE("/v1/users/{id}/follow", byId(userId)));
    },
    async block(userId: string): Promise<void> {
      await unwrap(raw.PUT("/v1/users/{id}/block", byId(userId)));
    },
    async unblock(userId: string): Promise<void> {
      await unwrap(raw.DELETE("/v1/users/{id}/block", byId(userId)));
    },
  };
}

export function profilesClient({ raw }: Transport) {
  return {
    /** A profile by user id or handle. */
    async get(idOrHandle: string) {
      return (await unwrap(raw.GET("/v1/profiles/{id_or_handle}", { params: { path: { id_or_handle: idOrHandle } } })))
        .data;
    },
    /** The member directory with its filters. */
    directory(query: ListQuery<"/v1/profiles"> = {}) {
      return new Paged(async (cursor) =>
        unwrap(raw.GET("/v1/profiles", { params: { query: { ...defined(query), ...cursorOf(cursor) } } })),
      );
    },
    /** Edits the caller's profile. */
    async update(input: UpdateProfileInput) {
      return (await unwrap(raw.PATCH("/v1/me/profile", { body: input }))).data;
    },
  };
}

export function searchClient({ raw }: Transport) {
  return {
    /** Searches posts and profiles; iterate for the hits, best first. */
    query(query: SearchQuery) {
      return new Paged(async (cursor) =>
        unwrap(raw.GET("/v1/search", { params: { query: { ...defined(query), ...cursorOf(cursor) } } })),
      );
    },
  };
}
