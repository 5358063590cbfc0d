import { afterAll, describe, expect, it } from "vitest";

import { isApiError } from "../src/index.js";
import type { ReadOnlyState } from "../src/index.js";
import { client, member } from "./helpers.js";

const admin = client();

/** A server reads the flag at most once a second, so behind several instances a switch holds
 * everywhere within that second: writes go on until it does. */
const SWITCH_HOLDS_WITHIN_MS = 5000;

const pause = (ms = 100) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long a server may still hold the flag it read: after it, every instance has let go. */
const FLAG_HELD_MS = 1000;

/** Writes until the write is refused read_only (or the time is up); answers the last outcome. */
async function untilRefused(write: () => Promise<unknown>): Promise<unknown> {
  const deadline = Date.now() + SWITCH_HOLDS_WITHIN_MS;
  for (;;) {
    const outcome = await write().catch((e: unknown) => e);
    if (isApiError(outcome, "read_only") || Date.now() > deadline) return outcome;
    await pause();
  }
}

/** Writes until the write is not refused read_only (or the time is up). */
async function untilWritten<T>(write: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + SWITCH_HOLDS_WITHIN_MS;
  for (;;) {
    try {
      return await write();
    } catch (e) {
      if (!isApiError(e, "read_only") || Date.now() > deadline) throw e;
      await pause();
    }
  }
}

afterAll(async () => {
  // Whatever happened above, leave the server writable.
  if (await admin.session()) {
    await admin.flags.set("read_only", { enabled: false, reason: "maintenance over" });
    // The next test file writes at once: let every instance's held flag run out first.
    await pause(FLAG_HELD_MS + 200);
  }
});

describe("read-only mode", () => {
  it("surfaces 503 read_only as a typed state while reads keep working", async () => {
    const email = process.env.VENDROME_TEST_ADMIN_EMAIL;
    const password = process.env.VENDROME_TEST_ADMIN_PASSWORD;
    if (!email || !password) throw new Error("VENDROME_TEST_ADMIN_EMAIL/PASSWORD are not set: run scripts/peers/sdk.sh");
    await admin.auth.login({ email, password });
    const { api } = await member("Gus");
    const states: ReadOnlyState[] = [];
    api.on("readOnlyChanged", (state) => states.push(state));
    const written = await api.posts.create({ body: "before maintenance" });
    expect(api.readOnly().readOnly).toBe(false);

    await admin.flags.set("read_only", { enabled: true, reason: "maintenance" });
    const refused = await untilRefused(() => api.posts.create({ body: "during maintenance" }));
    if (!isApiError(refused, "read_only")) throw refused;
    expect(refused.status).toBe(503);
    expect(refused.retryAfter).toBeGreaterThan(0);
    expect(api.readOnly()).toEqual({ readOnly: true, retryAfter: refused.retryAfter });
    // Reads keep working (writes that went through before the switch held are in the feed too).
    expect((await api.feed.home().take(50)).map((item) => item.post.id)).toContain(written.id);

    await admin.flags.set("read_only", { enabled: false, reason: "maintenance over" });
    await untilWritten(() => api.posts.create({ body: "after maintenance" }));
    expect(api.readOnly().readOnly).toBe(false);
    expect(states).toEqual([
      { readOnly: true, retryAfter: refused.retryAfter },
      { readOnly: false, retryAfter: undefined },
    ]);
  });
});
