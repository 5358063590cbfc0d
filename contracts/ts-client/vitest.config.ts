import { defineConfig } from "vitest/config";

// The suite talks to a live `vendrome serve` (scripts/peers/sdk.sh starts one and passes
// VENDROME_BASE_URL and VENDROME_SIGNING_KEYS).
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // One file at a time: the read-only test switches the whole server to read-only.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
