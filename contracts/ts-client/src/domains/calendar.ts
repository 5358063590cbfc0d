// Calendar sync: connecting external calendars (CalDAV, Google, Microsoft), their state, syncing
// one now and disconnecting it.

import type { Transport } from "../http.js";
import { unwrap } from "../http.js";
import { Paged } from "../pagination.js";
import type { BodyOf, CalendarIntegration } from "../types.js";
import { cursorOf } from "./shared.js";

export type ConnectCaldavInput = BodyOf<"/v1/calendar/integrations/caldav", "post">;

export function calendarClient({ raw }: Transport) {
  return {
    /** Connects a CalDAV calendar; its password is stored encrypted and never shown again. */
    async connectCaldav(input: ConnectCaldavInput): Promise<CalendarIntegration> {
      return (await unwrap(raw.POST("/v1/calendar/integrations/caldav", { body: input }))).data;
    },
    /**
     * Starts connecting the caller's Google calendar: the URL to send the browser to (Google
     * sends it back to the API's callback, which connects the calendar).
     */
    async startGoogle(): Promise<string> {
      return (await unwrap(raw.GET("/v1/calendar/integrations/google/start"))).data.authorize_url;
    },
    /**
     * Starts connecting the caller's Microsoft (Outlook / Microsoft 365) calendar: the URL to
     * send the browser to (Microsoft sends it back to the API's callback).
     */
    async startMicrosoft(): Promise<string> {
      return (await unwrap(raw.GET("/v1/calendar/integrations/microsoft/start"))).data.authorize_url;
    },
    /** The caller's integrations, oldest first, with their state, last sync and last error. */
    integrations() {
      return new Paged(async (cursor) =>
        unwrap(raw.GET("/v1/calendar/integrations", { params: { query: cursorOf(cursor) } })),
      );
    },
    /** Syncs one integration now: what changed at the provider since the last sync. */
    async sync(id: string) {
      return (await unwrap(raw.POST("/v1/calendar/integrations/{id}/sync", { params: { path: { id } } }))).data;
    },
    /** Disconnects an integration: its credentials and pending work are deleted. */
    async disconnect(id: string) {
      return (await unwrap(raw.DELETE("/v1/calendar/integrations/{id}", { params: { path: { id } } }))).data;
    },
  };
}
