// Browser-side calls to socialauth, cross-origin (CORS). Two transports:
// - bearer: `Authorization: Bearer <access>` with the access token Next-Auth's session exposes;
//   the session asks Next-Auth for a fresh one (its jwt callback refreshes) once refreshAt is
//   past on the Next.js server's clock (the session says what that clock read).
// - cookie: socialauth's HttpOnly cookies, sent with `credentials: "include"`; this page calls
//   login, refresh and logout itself, and refreshes shortly before the access cookie expires,
//   timed from when the answer arrived (the token's own lifetime), not from the server's clock.
// Either way the browser's clock may be wrong: a 401 gets one forced refresh and one retry
// before the session counts as ended; a refresh that fails without a 401 (network, 5xx) keeps
// the old tokens and is tried again on the next call.
import { getSession } from "next-auth/react";
import type { Session } from "next-auth";

export type Mode = "bearer" | "cookie";

export class ApiError extends Error {
  constructor(public status: number, public body: any) {
    super(`${status} ${JSON.stringify(body)}`);
  }
}

const DEADLINE_KEY = "socialauth.refreshBy";   // cookie mode: refresh from then on (browser ms)

async function answer(r: Response) {
  const body = r.headers.get("content-type")?.startsWith("application/json") ? await r.json() : null;
  if (!r.ok) throw new ApiError(r.status, body);
  return body;
}

function claims(access?: string): any {
  try {
    return JSON.parse(atob(access!.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  } catch {
    return {};
  }
}

// Next-Auth's session update (useSession().update): POSTs data to the jwt callback.
export type Update = (data: object) => Promise<Session | null | undefined>;

export class Api {
  constructor(private base: string, private mode: Mode, private update: Update) {}

  // The newest session seen (by the server's `now`), and the server's clock minus ours then.
  private session: Session | null = null;
  private skew = 0;
  setSession(session: Session | null) {
    if (session && this.session && (session.now ?? 0) < (this.session.now ?? 0)) return;
    if (session?.now && session.now !== this.session?.now) this.skew = session.now - Date.now();
    this.session = session;
  }

  // The access token in use, to show its jti (cookie mode: the last one login or refresh sent;
  // the cookie itself is HttpOnly).
  get access() { return this.mode === "bearer" ? this.session?.access : this.last; }
  private last?: string;
  private generation = 0;          // cookie mode: how many times login or refresh succeeded

  // One renewal at a time per page: calls made together wait for the same one.
  private renewing?: Promise<unknown>;
  private once(renew: () => Promise<unknown>) {
    this.renewing ??= renew().finally(() => { this.renewing = undefined; });
    return this.renewing;
  }

  // Bearer: the session's access token, fresh on the server's clock. Null when it ended.
  private async bearer(): Promise<string | null> {
    if (this.session?.refreshAt && Date.now() + this.skew >= this.session.refreshAt)
      await this.once(async () => this.setSession(await getSession()));
    const s = this.session;
    return s && !s.error && s.access ? s.access : null;
  }

  // Bearer: socialauth refused `access`; unless the session already moved on, make the jwt
  // callback refresh now. Then the token to retry with, or null when the session ended.
  private async renewBearer(access: string): Promise<string | null> {
    if (this.session?.access === access)
      await this.once(async () => { const s = await this.update({ refresh: true }); if (s) this.setSession(s); });
    const s = this.session;
    return s && !s.error && s.access && s.access !== access ? s.access : null;
  }

  private remember(data: any) {
    this.last = data.access;
    this.generation++;
    const { exp, iat } = claims(data.access);
    const lifetime = exp && iat ? (exp - iat) * 1000 : 0;
    localStorage.setItem(DEADLINE_KEY, String(Date.now() + lifetime - Math.min(2_000, lifetime / 4)));
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

  // Cookie mode: the refresh cookie in, fresh cookies out. Throws ApiError 401 when the
  // session is over; any other failure is thrown too, and the cookies stay as they were.
  async refresh() {
    const data = await this.post("/api/auth/token/refresh/", {});
    this.remember(data);
    return data;
  }

  async call(path: string, init: RequestInit = {}): Promise<any> {
    const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
    if (init.body) headers["Content-Type"] = "application/json";
    const send = (extra: RequestInit) => fetch(`${this.base}${path}`, { ...init, headers, ...extra });
    if (this.mode === "bearer") {
      const access = await this.bearer();
      if (!access) throw new ApiError(401, { detail: "Signed out." });
      const r = await send({ headers: { ...headers, Authorization: `Bearer ${access}` } });
      if (r.status !== 401) return answer(r);
      const again = await this.renewBearer(access);
      if (!again) return answer(r);
      return answer(await send({ headers: { ...headers, Authorization: `Bearer ${again}` } }));
    }
    const refreshBy = Number(localStorage.getItem(DEADLINE_KEY) || 0);
    if (refreshBy && Date.now() >= refreshBy) {
      try {
        await this.once(() => this.refresh());
      } catch (e) {    // 401: ended; otherwise the access cookie may still do, try the call
        if (e instanceof ApiError && e.status === 401) throw e;
      }
    }
    const generation = this.generation;
    const r = await send({ credentials: "include" });
    if (r.status !== 401) return answer(r);
    if (this.generation === generation) await this.once(() => this.refresh());   // 401 here: ended
    return answer(await send({ credentials: "include" }));
  }

  // Cookie mode: end our session and clear our cookies (bearer mode: Next-Auth's signOut event).
  async logout() {
    localStorage.removeItem(DEADLINE_KEY);
    return this.post("/api/auth/logout/", {});
  }
}

// The jti and exp (s) of an access token, to show which one is in use (not secret; the token is).
export function claimsOf(access?: string): { jti: string; exp: number } {
  const { jti, exp } = claims(access);
  return { jti: jti ?? "", exp: exp ?? 0 };
}
