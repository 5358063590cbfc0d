// Conversations and their messages (the realtime client carries them live).

import type { Transport } from "../http.js";
import { unwrap } from "../http.js";
import { Paged } from "../pagination.js";
import type { BodyOf, Conversation, ListQuery, Message } from "../types.js";
import { cursorOf, defined } from "./shared.js";

export type SendMessageInput = BodyOf<"/v1/conversations/{id}/messages", "post">;
export type CreateGroupInput = BodyOf<"/v1/conversations/groups", "post">;

export function messagesClient({ raw }: Transport) {
  const byId = (id: string) => ({ params: { path: { id } } });
  return {
    /** The caller's inbox, most recent activity first. */
    conversations(): Paged<Conversation> {
      return new Paged(async (cursor) => unwrap(raw.GET("/v1/conversations", { params: { query: cursorOf(cursor) } })));
    },
    /** Opens (or finds) the one-to-one conversation with a member. */
    async start(userId: string) {
      return (await unwrap(raw.POST("/v1/conversations", { body: { user_id: userId } }))).data;
    },
    async createGroup(input: CreateGroupInput) {
      return (await unwrap(raw.POST("/v1/conversations/groups", { body: input }))).data;
    },
    async conversation(id: string) {
      return (await unwrap(raw.GET("/v1/conversations/{id}", byId(id)))).data;
    },
    /** Sends a message. */
    async send(conversationId: string, input: SendMessageInput): Promise<Message> {
      return (await unwrap(raw.POST("/v1/conversations/{id}/messages", { ...byId(conversationId), body: input }))).data;
    },
    /** A conversation's messages, newest first (or from `before` / `after` a message). */
    list(conversationId: string, query: ListQuery<"/v1/conversations/{id}/messages"> = {}): Paged<Message> {
      return new Paged(async (cursor) =>
        unwrap(
          raw.GET("/v1/conversations/{id}/messages", {
            params: { path: { id: conversationId }, query: { ...defined(query), ...cursorOf(cursor) } },
          }),
        ),
      );
    },
    /** Moves the caller's read pointer to a message. */
    async markRead(conversationId: string, messageId: string): Promise<void> {
      await unwrap(
        raw.POST("/v1/conversations/{id}/read", { ...byId(conversationId), body: { message_id: messageId } }),
      );
    },
    async edit(messageId: string, body: string): Promise<Message> {
      return (await unwrap(raw.PATCH("/v1/messages/{id}", { ...byId(messageId), body: { body } }))).data;
    },
    async delete(messageId: string): Promise<void> {
      await unwrap(raw.DELETE("/v1/messages/{id}", byId(messageId)));
    },
  };
}
