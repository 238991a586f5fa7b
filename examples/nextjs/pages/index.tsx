// The signed-in page: the user from socialauth's /api/auth/user/, the posts from /api/posts/,
// a first-name form (PATCH), sign-out. Both transports; SOCIALAUTH_MODE chooses at run time.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { GetServerSideProps } from "next";
import { signIn, signOut, useSession } from "next-auth/react";
import { Api, ApiError, jtiOf, type Mode } from "../lib/api";
import type { SocialauthUser } from "../types/next-auth";

type Props = { api: string; mode: Mode };
type Post = { id: number; title: string; body: string };

export const getServerSideProps: GetServerSideProps<Props> = async () => ({
  props: { api: process.env.SOCIALAUTH_URL!, mode: process.env.SOCIALAUTH_MODE === "cookie" ? "cookie" : "bearer" },
});

export default function Home({ api: base, mode }: Props) {
  const { data: session, status, update } = useSession();
  const api = useMemo(() => new Api(base, mode, null), [base, mode]);
  const [user, setUser] = useState<SocialauthUser | null>(null);
  const [posts, setPosts] = useState<Post[]>([]);
  const [firstName, setFirstName] = useState("");
  const [jti, setJti] = useState("");
  const [message, setMessage] = useState("");
  const [ended, setEnded] = useState(false);     // socialauth's session is over: sign in again
  const loggingIn = useRef(false);

  const fail = useCallback((e: unknown) => {
    const ended = e instanceof ApiError && e.status === 401;
    setEnded(ended);
    setMessage(ended ? "" : e instanceof Error ? e.message : String(e));
  }, []);

  const load = useCallback(async () => {
    try {
      const [me, list] = await Promise.all([api.call("/api/auth/user/"), api.call("/api/posts/")]);
      setUser(me);
      setFirstName(me.first_name);
      setPosts(list);
      setMessage("");
      setJti(jtiOf(api.access));
    } catch (e) {
      fail(e);
    }
  }, [api, fail]);

  useEffect(() => {
    api.setSession(session ?? null);
    if (status !== "authenticated" || !session) return;
    if (session.error) { setEnded(true); return; }
    if (mode === "cookie" && session.google?.id_token) {
      if (loggingIn.current) return;
      loggingIn.current = true;
      api.login(session.google)
        .then(() => update({ googleUsed: true }))
        .then(load, fail)
        .finally(() => { loggingIn.current = false; });
      return;
    }
    if (!user) load();
  }, [status, session, api, mode, user, load, fail, update]);

  async function save(e: React.FormEvent) {
    e.preventDefault();
    try {
      const me = await api.call("/api/auth/user/", { method: "PATCH", body: JSON.stringify({ first_name: firstName }) });
      setUser(me);
      setMessage("Saved.");
    } catch (err) {
      fail(err);
    }
  }


  async function leave() {
    if (mode === "cookie") {
      try { await api.logout(); } catch (e) { fail(e); }
    }
    await signOut({ callbackUrl: "/" });   // bearer mode: its signOut event logs out of socialauth
  }

  if (status === "loading") return <p>Loading…</p>;
  return (
    <main>
      <h1>socialauth + Next-Auth</h1>
      <p className="mode">mode: <span data-testid="mode">{mode}</span> · API {base}</p>
      {status !== "authenticated" || ended ? (
        <>
          {ended && <p className="error" data-testid="ended">Your session has ended. Please sign in again.</p>}
          <button data-testid="signin" onClick={() => signIn("google")}>Sign in with Google</button>
        </>
      ) : (
        <>
          {user && (
            <dl data-testid="user">
              <dt>pk</dt><dd data-testid="user-pk">{user.pk}</dd>
              <dt>username</dt><dd data-testid="user-username">{user.username}</dd>
              <dt>email</dt><dd data-testid="user-email">{user.email}</dd>
              <dt>name</dt><dd data-testid="user-name">{user.first_name} {user.last_name}</dd>
              <dt>access jti</dt><dd data-testid="jti">{jti}</dd>
            </dl>
          )}
          <form onSubmit={save}>
            <label>First name <input data-testid="first-name" value={firstName}
              onChange={(e) => setFirstName(e.target.value)} /></label>
            <button data-testid="save" type="submit">Save</button>
          </form>
          <h2>Posts</h2>
          <ul data-testid="posts">
            {posts.map((p) => <li key={p.id}><b>{p.title}</b>: {p.body}</li>)}
          </ul>
          <button data-testid="reload" onClick={load}>Reload</button>
          <button data-testid="signout" onClick={leave}>Sign out</button>
        </>
      )}
      {message && <p data-testid="message">{message}</p>}
    </main>
  );
}
