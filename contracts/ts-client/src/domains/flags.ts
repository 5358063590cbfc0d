// Feature flags as the caller sees them, and the admin's switch.

import type { Transport } from "../http.js";
import { unwrap } from "../http.js";
import type { BodyOf, Flag } from "../types.js";

export type UpdateFlagInput = BodyOf<"/v1/admin/flags/{name}", "put">;

export function flagsClient({ raw }: Transport) {
  return {
    /** Every flag, with `active` evaluated for the caller. */
    async list(): Promise<Flag[]> {
      return (await unwrap(raw.GET("/v1/flags"))).data;
    },
    /** Whether the named flag is on for the caller (`false` for an unknown flag). */
    async isActive(name: string): Promise<boolean> {
      return (await this.list()).some((flag) => flag.name === name && flag.active);
    },
    /** Changes a flag (admins only). */
    async set(name: string, input: UpdateFlagInput) {
      return (await unwrap(raw.PUT("/v1/admin/flags/{name}", { params: { path: { name } }, body: input }))).data;
    },
  };
}
