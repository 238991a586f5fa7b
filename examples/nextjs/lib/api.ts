// Browser-side calls to socialauth, cross-origin (CORS). Two transports:
// - bearer: `Authorization: Bearer <access>` with the access token Next-Auth's session exposes;
//   the session asks Next-Auth for a fresh one (its jwt callback refreshes) once refreshAt is past.
// - cookie: socialauth's HttpOnly cookies, sent with `credentials: "include"`; this page calls
//   login, refresh and logout itself, and refreshes shortly before the access cookie expires.
import { getSession } from "next-auth/react";
import type { Session } from "next-auth";

export type Mode = "bearer" | "cookie";

export class ApiError extends Error {
  constructor(public status: number, public body: any) {
    super(`${status} ${JSON.stringify(body)}`);
  }
}

const EXPIRES_KEY = "socialauth.accessExpires";   // cookie mode: when our access cookie expires (ms)

async function answer(r: Response) {
  const body = r.headers.get("content-type")?.startsWith("application/json") ? await r.json() : null;
  if (!r.ok) throw new ApiError(r.status, body);
  return body;
}

export class Api {
  constructor(private base: string, private mode: Mode, private session: Session | null) {}

  setSession(session: Session | null) { this.session = session; }

  // The access token in use, to show its jti (cookie mode: the last one login or refresh sent;
  // the cookie itself is HttpOnly).
  get access() { return this.mode === "bearer" ? this.session?.access : this.last; }
  private last?: string;

  // One renewal at a time per page: calls made together wait for the same one.
  private renewing?: Promise<unknown>;
  private once(renew: () => Promise<unknown>) {
    this.renewing ??= renew().finally(() => { this.renewing = undefined; });
    return this.renewing;
  }

  // Bearer: the session's access token, fresh. Null when the session ended (sign in again).
  private async bearer(): Promise<string | null> {
    if (this.session?.refreshAt && Date.now() >= this.session.refreshAt)
      await this.once(async () => { this.session = await getSession(); });
    const s = this.session;
    return s && !s.error && s.access ? s.access : null;
  }

  private remember(data: any) {
    this.last = data.access;
    localStorage.setItem(EXPIRES_KEY, String(Date.parse(data.access_expiration)));
  }

  // Cookie mode: a POST that sends and receives our cookies (the browser adds its Origin).
  private async post(path: string, body: object) {
    return answer(await fetch(`${this.base}${path}`, {
      method: "POST", credentials: "include",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    }));
  }

  // Cookie mode: trade Google's ID token (handed over once by Next-Auth) for our cookies.
  async login(google: { id_token?: string; access_token?: string }) {
    const data = await this.post("/api/social/login/google/", google);
    this.remember(data);
    return data;
  }

  // Cookie mode: the refresh cookie in, fresh cookies out.
  async refresh() {
    const data = await this.post("/api/auth/token/refresh/", {});
    this.remember(data);
    return data;
  }

  async call(path: string, init: RequestInit = {}): Promise<any> {
    const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
    if (init.body) headers["Content-Type"] = "application/json";
    if (this.mode === "bearer") {
      const access = await this.bearer();
      if (!access) throw new ApiError(401, { detail: "Signed out." });
      headers.Authorization = `Bearer ${access}`;
      return answer(await fetch(`${this.base}${path}`, { ...init, headers }));
    }
    const expires = Number(localStorage.getItem(EXPIRES_KEY) || 0);
    if (expires && Date.now() > expires - 2_000) await this.once(() => this.refresh());
    return answer(await fetch(`${this.base}${path}`, { ...init, headers, credentials: "include" }));
  }

  // Cookie mode: end our session and clear our cookies (bearer mode: Next-Auth's signOut event).
  async logout() {
    localStorage.removeItem(EXPIRES_KEY);
    return this.post("/api/auth/logout/", {});
  }
}

// The jti of an access token, to show which one is in use (not secret; the token itself is).
export function jtiOf(access?: string): string {
  try {
    return JSON.parse(atob(access!.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).jti;
  } catch {
    return "";
  }
}
