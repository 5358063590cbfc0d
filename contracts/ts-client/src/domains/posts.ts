// Posts, their reactions, comments and bookmarks; and the feeds that list them.

import type { Transport } from "../http.js";
import { unwrap } from "../http.js";
import { Paged } from "../pagination.js";
import type { BodyOf, FeedItem, ListQuery, Post } from "../types.js";
import { cursorOf, defined } from "./shared.js";

export type CreatePostInput = BodyOf<"/v1/posts", "post">;
export type UpdatePostInput = BodyOf<"/v1/posts/{id}", "patch">;
export type ReactionInput = BodyOf<"/v1/posts/{id}/reaction", "put">;
export type CommentInput = BodyOf<"/v1/posts/{id}/comments", "post">;

export function postsClient({ raw }: Transport) {
  const byId = (id: string) => ({ params: { path: { id } } });
  return {
    /** Publishes a post. */
    async create(input: CreatePostInput): Promise<Post> {
      return (await unwrap(raw.POST("/v1/posts", { body: input }))).data;
    },
    async get(id: string): Promise<Post> {
      return (await unwrap(raw.GET("/v1/posts/{id}", byId(id)))).data;
    },
    async update(id: string, input: UpdatePostInput): Promise<Post> {
      return (await unwrap(raw.PATCH("/v1/posts/{id}", { ...byId(id), body: input }))).data;
    },
    async delete(id: string): Promise<void> {
      await unwrap(raw.DELETE("/v1/posts/{id}", byId(id)));
    },
    /** Posts of a type with that type's filters (the marketplace, crowdfunding, …). */
    list(query: ListQuery<"/v1/posts"> = {}): Paged<FeedItem> {
      return new Paged(async (cursor) =>
        unwrap(raw.GET("/v1/posts", { params: { query: { ...defined(query), ...cursorOf(cursor) } } })),
      );
    },
    async react(id: string, input: ReactionInput) {
      return (await unwrap(raw.PUT("/v1/posts/{id}/reaction", { ...byId(id), body: input }))).data;
    },
    async unreact(id: string): Promise<void> {
      await unwrap(raw.DELETE("/v1/posts/{id}/reaction", byId(id)));
    },
    async bookmark(id: string): Promise<void> {
      await unwrap(raw.PUT("/v1/posts/{id}/bookmark", byId(id)));
    },
    async unbookmark(id: string): Promise<void> {
      await unwrap(raw.DELETE("/v1/posts/{id}/bookmark", byId(id)));
    },
    async comment(id: string, input: CommentInput) {
      return (await unwrap(raw.POST("/v1/posts/{id}/comments", { ...byId(id), body: input }))).data;
    },
    comments(id: string) {
      return new Paged(async (cursor) =>
        unwrap(raw.GET("/v1/posts/{id}/comments", { params: { path: { id }, query: cursorOf(cursor) } })),
      );
    },
  };
}

export function feedClient({ raw }: Transport) {
  return {
    /** The caller's home feed, newest first. */
    home(query: ListQuery<"/v1/feed"> = {}): Paged<FeedItem> {
      return new Paged(async (cursor) =>
        unwrap(raw.GET("/v1/feed", { params: { query: { ...defined(query), ...cursorOf(cursor) } } })),
      );
    },
    /** A member's posts. */
    user(id: string): Paged<FeedItem> {
      return new Paged(async (cursor) =>
        unwrap(raw.GET("/v1/users/{id}/posts", { params: { path: { id }, query: cursorOf(cursor) } })),
      );
    },
    /** A topic's posts. */
    topic(slug: string) {
      return new Paged(async (cursor) =>
        unwrap(raw.GET("/v1/topics/{slug}/posts", { params: { path: { slug }, query: cursorOf(cursor) } })),
      );
    },
    /** The caller's bookmarks. */
    bookmarks() {
      return new Paged(async (cursor) => unwrap(raw.GET("/v1/me/bookmarks", { params: { query: cursorOf(cursor) } })));
    },
    async trending() {
      return (await unwrap(raw.GET("/v1/trending"))).data;
    },
  };
}
