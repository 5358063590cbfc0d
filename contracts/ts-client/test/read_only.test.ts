import { afterAll, describe, expect, it } from "vitest";

import { isApiError } from "../src/index.js";
import type { ReadOnlyState } from "../src/index.js";
import { client, member } from "./helpers.js";

const admin = client();

afterAll(async () => {
  // Whatever happened above, leave the server writable.
  if (await admin.session()) await admin.flags.set("read_only", { enabled: false, reason: "maintenance over" });
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
    const refused = await api.posts.create({ body: "during maintenance" }).catch((e: unknown) => e);
    if (!isApiError(refused, "read_only")) throw refused;
    expect(refused.status).toBe(503);
    expect(refused.retryAfter).toBeGreaterThan(0);
    expect(api.readOnly()).toEqual({ readOnly: true, retryAfter: refused.retryAfter });
    expect((await api.feed.home().take(5)).map((item) => item.post.id)).toEqual([written.id]);

    await admin.flags.set("read_only", { enabled: false, reason: "maintenance over" });
    await api.posts.create({ body: "after maintenance" });
    expect(api.readOnly().readOnly).toBe(false);
    expect(states).toEqual([
      { readOnly: true, retryAfter: refused.retryAfter },
      { readOnly: false, retryAfter: undefined },
    ]);
  });
});
