// Registration, sign-in, refresh and sign-out; the session is stored by the transport.

import type { AuthTokens, Transport } from "../http.js";
import { unwrap } from "../http.js";
import type { Account, BodyOf } from "../types.js";

export type RegisterInput = BodyOf<"/v1/auth/register", "post">;
export type LoginInput = BodyOf<"/v1/auth/login", "post">;

export function authClient(transport: Transport) {
  const { raw } = transport;
  return {
    /** Creates an account and signs it in. */
    async register(input: RegisterInput): Promise<AuthTokens> {
      const tokens = (await unwrap(raw.POST("/v1/auth/register", { body: input }))).data;
      await transport.adopt(tokens);
      return tokens;
    },
    /** Signs in with email and password. */
    async login(input: LoginInput): Promise<AuthTokens> {
      const tokens = (await unwrap(raw.POST("/v1/auth/login", { body: input }))).data;
      await transport.adopt(tokens);
      return tokens;
    },
    /** Trades the refresh token now (calls made with an expired token do it by themselves). */
    async refresh(): Promise<boolean> {
      return (await transport.refresh()) !== null;
    },
    /** Ends this session on the server and forgets it here (emits `signedOut` with `logout`). */
    async logout(): Promise<void> {
      try {
        await unwrap(raw.POST("/v1/auth/logout"));
      } finally {
        await transport.signOut("logout");
      }
    },
    /** Ends every session of the member. */
    async logoutAll(): Promise<void> {
      try {
        await unwrap(raw.POST("/v1/auth/logout-all"));
      } finally {
        await transport.signOut("logout");
      }
    },
    /** The signed-in account. */
    async me(): Promise<Account> {
      return (await unwrap(raw.GET("/v1/me"))).data;
    },
    /** The member's live sessions. */
    async sessions() {
      return (await unwrap(raw.GET("/v1/auth/sessions"))).data;
    },
  };
}
