// What the jwt and session callbacks add to Next-Auth's types.
import "next-auth";
import "next-auth/jwt";

type GoogleTokens = { id_token?: string; access_token?: string };

declare module "next-auth/jwt" {
  interface JWT {
    access?: string;          // socialauth's access token (bearer mode)
    refresh?: string;         // socialauth's refresh token: never sent to the browser
    accessExpires?: number;   // ms since the epoch
    refreshAt?: number;       // ms since the epoch: refresh from then on
    error?: "RefreshAccessTokenError";
    google?: GoogleTokens;    // cookie mode: Google's tokens, handed to the page once
  }
}

declare module "next-auth" {
  interface Session {
    access?: string;
    accessExpires?: number;
    refreshAt?: number;
    error?: "RefreshAccessTokenError";
    google?: GoogleTokens;
  }
}

export interface SocialauthUser {
  pk: string;
  userId: string;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
}
