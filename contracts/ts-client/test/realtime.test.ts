import { createServer, connect } from "node:net";
import type { Server, Socket } from "node:net";

import { afterEach, describe, expect, it } from "vitest";

import type { ConnectionState, Message } from "../src/index.js";
import { BASE_URL, member } from "./helpers.js";

/** A TCP proxy to the server that the test can cut (and refuse connections) at will. */
async function proxy() {
  const target = new URL(BASE_URL);
  const sockets = new Set<Socket>();
  let refusing = false;
  const server: Server = createServer((inbound) => {
    if (refusing) {
      inbound.destroy();
      return;
    }
    const outbound = connect(Number(target.port), target.hostname);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    /** Drops every open connection and refuses new ones. */
    cut() {
      refusing = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      refusing = false;
    },
    close() {
      this.cut();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function waitForState(api: { realtime: { state: ConnectionState; onState(l: (s: ConnectionState) => void): () => void } }, state: ConnectionState) {
  return new Promise<void>((resolve) => {
    if (api.realtime.state === state) return resolve();
    const off = api.realtime.onState((s) => {
      if (s === state) {
        off();
        resolve();
      }
    });
  });
}

describe("realtime", () => {
  it("delivers a message sent over REST to the other member's socket", async () => {
    const ana = await member("Ana");
    const ben = await member("Ben");
    const conversation = await ana.api.messages.start(ben.id);
    ben.api.realtime.connect();
    cleanups.push(() => ben.api.realtime.close());
    const ready = await ben.api.realtime.next("ready");
    expect(ready.data.user_id).toBe(ben.id);

    const arriving = ben.api.realtime.next("message.created", (m) => m.conversation_id === conversation.id);
    const sent = await ana.api.messages.send(conversation.id, { body: "hello over the socket" });
    const frame = await arriving;
    expect(frame.id).toBe(sent.id);
    expect(frame.data.body).toBe("hello over the socket");
    expect(frame.data.sender_id).toBe(ana.id);
  });

  it("reconnects after a cut and resumes from last_event_id, each message once", async () => {
    const link = await proxy();
    cleanups.push(() => link.close());
    const ana = await member("Ana");
    const ben = await member("Ben", { baseUrl: link.url });
    const conversation = await ana.api.messages.start(ben.id);
    const received: Message[] = [];
    ben.api.realtime.on("message.created", (message) => received.push(message));
    ben.api.realtime.connect();
    cleanups.push(() => ben.api.realtime.close());
    await ben.api.realtime.next("ready");

    const first = ben.api.realtime.next("message.created");
    const before = await ana.api.messages.send(conversation.id, { body: "before the cut" });
    await first;
    expect(ben.api.realtime.lastEventId).toBe(before.id);

    link.cut();
    await waitForState(ben.api, "reconnecting");
    const missed = await ana.api.messages.send(conversation.id, { body: "while disconnected" });
    const resumed = ben.api.realtime.next("message.created", (m) => m.id === missed.id);
    link.restore();
    await resumed;
    // The resume starts 5 s before last_event_id, so "before the cut" came again: dropped.
    const after = ben.api.realtime.next("message.created");
    const live = await ana.api.messages.send(conversation.id, { body: "after the reconnect" });
    await after;

    expect(received.map((m) => m.id)).toEqual([before.id, missed.id, live.id]);
    expect(ben.api.realtime.state).toBe("open");
  });
});
