// pages/api/auth/[...nextauth].ts: Google sign-in, then socialauth's tokens kept in Next-Auth's JWT.
import NextAuth, { type NextAuthOptions } from "next-auth";
import type { JWT } from "next-auth/jwt";
import GoogleProvider from "next-auth/providers/google";

const API = process.env.SOCIALAUTH_URL!;          // socialauth's base URL, e.g. http://127.0.0.1:8000
const COOKIE_MODE = process.env.SOCIALAUTH_MODE === "cookie";
const ISSUER = process.env.GOOGLE_ISSUER;         // unset: Google itself (tests: a fake provider)

async function post(path: string, body: object) {
  return fetch(`${API}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

// Our tokens from a login or refresh answer; refresh shortly before exp: a quarter of the
// access token's lifetime, at most 30 s, before it.
function keep(token: JWT, data: any): JWT {
  const expires = Date.parse(data.access_expiration);
  const margin = Math.min(30_000, (expires - Date.now()) / 4);
  return { ...token, access: data.access, refresh: data.refresh ?? token.refresh,
           accessExpires: expires, refreshAt: expires - margin, error: undefined };
}

export const authOptions: NextAuthOptions = {
  providers: [
    GoogleProvider({
      clientId: process.env.GOOGLE_CLIENT_ID!,
      clientSecret: process.env.GOOGLE_CLIENT_SECRET!,
      ...(ISSUER ? { wellKnown: `${ISSUER}/.well-known/openid-configuration`, issuer: ISSUER } : {}),
    }),
  ],
  callbacks: {
    async jwt({ token, account, trigger, session }) {
      if (account?.provider === "google") {                // sign-in: trade Google's tokens
        if (COOKIE_MODE)                                   // the browser does it (cookies are its)
          return { ...token, google: { id_token: account.id_token, access_token: account.access_token } };
        const r = await post("/api/social/login/google/",
                             { id_token: account.id_token, access_token: account.access_token });
        if (!r.ok) throw new Error(`socialauth refused the sign-in: ${r.status}`);
        return keep(token, await r.json());
      }
      if (trigger === "update" && session?.googleUsed) return { ...token, google: undefined };
      if (COOKIE_MODE || !token.refresh || token.error || Date.now() < token.refreshAt!) return token;
      const r = await post("/api/auth/token/refresh/", { refresh: token.refresh }).catch(() => null);
      console.log(`socialauth refresh: ${r?.status ?? "unreachable"}`);
      if (!r?.ok) return { ...token, error: "RefreshAccessTokenError" };   // the page offers sign-in
      return keep(token, await r.json());
    },
    async session({ session, token }) {
      return { ...session, access: token.access, accessExpires: token.accessExpires,
               refreshAt: token.refreshAt, error: token.error, google: token.google };
    },
  },
  events: {
    async signOut({ token }) {                             // end socialauth's session too
      if (!token?.refresh) return;
      const r = await post("/api/auth/logout/", { refresh: token.refresh }).catch(() => null);
      console.log(`socialauth logout: ${r?.status ?? "unreachable"}`);
    },
  },
};

export default NextAuth(authOptions);
