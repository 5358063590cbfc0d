import { describe, expect, it } from "vitest";

import { member, recordingFetch } from "./helpers.js";

describe("posts and feed", () => {
  it("iterates the home feed across pages with for await", async () => {
    const recorder = recordingFetch();
    const { api } = await member("Eve", { fetch: recorder.fetch });
    const written: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      written.push((await api.posts.create({ body: `post number ${i}` })).id);
    }

    const seen: string[] = [];
    for await (const item of api.feed.home({ limit: 2 })) seen.push(item.post.id);

    expect(seen).toEqual([...written].reverse());
    const pages = recorder.sent.filter((r) => new URL(r.url).pathname === "/v1/feed");
    expect(pages).toHaveLength(3);
    expect(new URL(pages[1]!.url).searchParams.get("cursor")).toMatch(/.+/);

    // Breaking out early fetches no further page.
    const before = recorder.sent.length;
    expect((await api.feed.home({ limit: 2 }).take(1)).map((i) => i.post.id)).toEqual([written[4]]);
    expect(recorder.sent.length - before).toBe(1);
  });

  it("retries a POST whose answer was lost with the same key, so the server acts once", async () => {
    let dropped = false;
    // The first POST reaches the server, which acts; its answer is lost on the way back.
    const lossy = recordingFetch(async (request) => {
      const response = await fetch(request);
      if (!dropped && request.method === "POST" && new URL(request.url).pathname === "/v1/posts") {
        dropped = true;
        throw new TypeError("connection reset");
      }
      return response;
    });
    const { api, id } = await member("Finn", { fetch: lossy.fetch });
    lossy.sent.length = 0;

    const post = await api.posts.create({ body: "sent once, answered twice" });

    const attempts = lossy.sent.filter((r) => r.method === "POST");
    expect(attempts).toHaveLength(2);
    expect(attempts[1]!.headers.get("idempotency-key")).toBe(attempts[0]!.headers.get("idempotency-key"));
    const mine = await api.feed.user(id).take(10);
    expect(mine.map((item) => item.post.id)).toEqual([post.id]);
  });
});
