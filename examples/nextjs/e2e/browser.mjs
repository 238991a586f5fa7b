// Drives Debian's Chromium (headless, through playwright-core) through the example app.
// Started by tests/e2e/test_nextjs.py, which runs the fake Google, socialauth and `next start`:
//   node e2e/browser.mjs bearer|cookie
// Environment: APP_URL (Next.js), SOCIALAUTH_URL, ACCESS_LIFETIME_MS, NEXT_LOG (next start's
// output, to count the jwt callback's refreshes), ARTIFACTS (screenshots), USER_DATA_DIR (fresh),
// SOCIALAUTH_BIN and SOCIALAUTH_CONF (the admin command, to revoke a session behind the app).
// Prints one line per step; exits 0 when every step passed, 1 on the first failure.
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import assert from "node:assert/strict";

const mode = process.argv[2];
const { APP_URL, SOCIALAUTH_URL, NEXT_LOG, ARTIFACTS, USER_DATA_DIR, SOCIALAUTH_BIN, SOCIALAUTH_CONF } = process.env;
const LIFETIME = Number(process.env.ACCESS_LIFETIME_MS);
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const STEP_MS = 30_000;

const log = (...a) => console.log(`[${mode} ${new Date().toISOString().slice(11, 23)}]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const logLines = (re) => readFileSync(NEXT_LOG, "utf8").split("\n").filter((l) => re.test(l)).length;

async function userMe(access) {
  return fetch(`${SOCIALAUTH_URL}/api/auth/user/`, { headers: { Authorization: `Bearer ${access}` } });
}

async function shot(page, name) {
  const path = `${ARTIFACTS}/${mode}-${name}.png`;
  await page.screenshot({ path, fullPage: true });
  log("screenshot", path);
}

async function text(page, id) {
  return (await page.getByTestId(id).textContent({ timeout: STEP_MS })).trim();
}

// The signed-in page shows the user and the three posts; returns the user's pk.
async function signedIn(page) {
  await page.getByTestId("user-pk").waitFor({ timeout: STEP_MS });
  await page.getByTestId("posts").locator("li").nth(2).waitFor({ timeout: STEP_MS });
  assert.equal(await page.getByTestId("ended").count(), 0, "the page says the session ended");
  assert.equal(await text(page, "user-email"), "ada.lovelace@example.com");
  return text(page, "user-pk");
}

async function signIn(page) {
  await page.goto(APP_URL + "/");
  await page.getByTestId("signin").click({ timeout: STEP_MS });
  // Next-Auth -> fake Google's authorize (automatic consent) -> callback -> back to "/".
  await page.waitForURL(APP_URL + "/", { timeout: STEP_MS });
  return signedIn(page);
}

// The jti shown after Reload differs from `before`: a new access token was used. With `at`
// (ms since the epoch), the page clicks Reload itself at that instant (tabs racing).
async function reloadedWithNewToken(page, before, at) {
  if (at) {
    await page.evaluate((t) => setTimeout(() => document.querySelector('[data-testid="reload"]').click(),
                                          t - Date.now()), at);
  } else {
    await page.getByTestId("reload").click();
  }
  await page.waitForFunction(([b]) => {
    const el = document.querySelector('[data-testid="jti"]');
    return el && el.textContent && el.textContent !== b;
  }, [before], { timeout: STEP_MS });
  await signedIn(page);
  return text(page, "jti");
}

// The page refreshes between its refresh time and exp: Reload is clicked 0.8 s before the shown
// token's exp, or just after the page's refresh time (`refreshFrom()`, ms since the epoch) if
// that is later, and a new jti must appear; `beforeExp()` says how many ms before exp the refresh
// was made (> 0: the old token was still valid). Bearer: the jwt callback refreshes from 1.25 to
// 1.5 s before exp (6 s lifetime), always before the click. Cookie: the page refreshes from 4.5 s
// after the last answer arrived, and exp counts from iat, a whole second: an answer late in iat's
// second puts that time 0.5 to 0.8 s before exp, and a click at exp - 0.8 s alone came before it
// (no refresh was due, none was sent: the test timed out on about one run in three).
// A slow machine may land after exp: up to three tries, each with the next token.
async function refreshesBeforeExp(page, beforeExp, refreshFrom = async () => 0) {
  for (let attempt = 1; attempt <= 3; attempt++) {
    const jti = await text(page, "jti");
    const exp = Number(await page.getByTestId("exp").getAttribute("data-exp")) * 1000;
    const from = await refreshFrom();
    assert.ok(from < exp, `the page plans its refresh ${from - exp} ms after its token's exp`);
    if (from) log(`the page refreshes from ${exp - from} ms before exp`);
    const wait = Math.max(exp - 800, from + 50) - Date.now();
    if (wait > 0) await sleep(wait);
    const measure = beforeExp(exp);
    measure.catch(() => {});   // awaited below; a timeout here must not end node before that
    const next = await reloadedWithNewToken(page, jti);
    const ms = await measure;
    if (ms > 0) return { jti: next, ms };
    log(`try ${attempt}: the refresh came ${-ms} ms after exp (a slow moment), again`);
  }
  throw new Error("no refresh before exp in three tries");
}

// Bearer: the next `socialauth refresh: 200 (N ms before exp)` line the jwt callback logs.
async function loggedRefresh() {
  const seen = logLines(/socialauth refresh: 200/);
  for (const until = Date.now() + STEP_MS; Date.now() < until; await sleep(100)) {
    const lines = readFileSync(NEXT_LOG, "utf8").split("\n").filter((l) => /socialauth refresh: 200/.test(l));
    if (lines.length > seen) return Number(/\((-?\d+) ms before exp\)/.exec(lines[seen])[1]);
  }
  throw new Error("the jwt callback logged no refresh");
}

async function bearerFlow(context) {
  const page = context.pages()[0] || (await context.newPage());
  const pk = await signIn(page);
  log("signed in: user", pk, await text(page, "user-username"));
  await shot(page, "signed-in");

  await page.getByTestId("first-name").fill("Augusta");
  await page.getByTestId("save").click();
  await page.getByTestId("message").filter({ hasText: "Saved." }).waitFor({ timeout: STEP_MS });
  await page.reload();
  await signedIn(page);
  assert.equal(await text(page, "user-name"), "Augusta Lovelace");
  log("first name saved and still there after a reload");

  const early = await refreshesBeforeExp(page, loggedRefresh);
  let jti = early.jti;
  log(`the jwt callback refreshed ${early.ms} ms before the access token's exp; new jti`, jti);
  await shot(page, "refreshed");

  const tab2 = await context.newPage();
  await tab2.goto(APP_URL + "/");
  await signedIn(tab2);
  await sleep(LIFETIME + 1000);
  const before = logLines(/socialauth refresh: 200/);
  const jti2 = await text(tab2, "jti");
  const at = Date.now() + 300;   // both tabs ask for the session in the same millisecond
  await Promise.all([reloadedWithNewToken(page, jti, at), reloadedWithNewToken(tab2, jti2, at)]);
  const raced = logLines(/socialauth refresh: 200/) - before;
  assert.ok(raced >= 2, `expected two racing refreshes, saw ${raced}`);
  assert.equal(logLines(/socialauth refresh: 4/), 0, "a refresh was refused");
  log(`two tabs refreshed at once (${raced} refreshes answered 200), both signed in`);
  await shot(tab2, "second-tab");
  // The chain survived the race: one more refresh after it still works.
  await sleep(LIFETIME + 1000);
  jti = await reloadedWithNewToken(page, await text(page, "jti"));
  log("the next refresh after the race works too");
  await tab2.close();

  const session = await page.evaluate(() => fetch("/api/auth/session").then((r) => r.json()));
  assert.equal((await userMe(session.access)).status, 200);
  await page.getByTestId("signout").click();
  await page.getByTestId("signin").waitFor({ timeout: STEP_MS });
  const refused = await userMe(session.access);
  assert.equal(refused.status, 401, "the old access token still works after sign-out");
  assert.equal(logLines(/socialauth logout: 200/), 1);
  log("signed out; the old access token gets", refused.status, JSON.stringify(await refused.json()));

  const again = await signIn(page);
  assert.equal(again, pk, "signing in again gave another user");
  assert.equal(await text(page, "user-name"), "Augusta Lovelace");
  log("signed in again as the same user", again);
  await shot(page, "signed-in-again");

  // The session is revoked behind the app's back: the next refresh fails, the jwt callback
  // sets `error`, and the page offers to sign in again.
  execFileSync(SOCIALAUTH_BIN, ["--config", SOCIALAUTH_CONF, "session", "revoke", "--all", pk]);
  await sleep(LIFETIME + 1000);
  await page.getByTestId("reload").click();
  await page.getByTestId("ended").waitFor({ timeout: STEP_MS });
  const ended = await page.evaluate(() => fetch("/api/auth/session").then((r) => r.json()));
  assert.equal(ended.error, "RefreshAccessTokenError");
  assert.ok(logLines(/socialauth refresh: 401/) >= 1, "no refused refresh was logged");
  log("session revoked: refresh refused (401), the session has error", ended.error);
  await shot(page, "session-ended");
  assert.equal(await signIn(page), pk, "signing in after the error gave another user");
  log("signed in once more from the page's offer, same user");

  // The browser's clock is a minute slow: the page times refresh on the Next.js server's clock
  // (the session says what it read), so it stays signed in.
  await page.clock.install({ time: Date.now() - 60_000 });
  await page.clock.resume();
  await page.reload();
  await signedIn(page);
  const slow = Date.now() - (await page.evaluate(() => Date.now()));
  assert.ok(slow > 55_000, `the browser's clock is not slow (${slow} ms)`);
  let count = logLines(/socialauth refresh: 200/);
  await sleep(LIFETIME + 1000);
  jti = await reloadedWithNewToken(page, await text(page, "jti"));
  assert.ok(logLines(/socialauth refresh: 200/) > count, "no refresh was logged");
  log(`browser clock ${slow} ms slow: refreshed on the server's clock, still signed in`);
  // Then it jumps back another minute with the page open: the page sends an expired token,
  // gets a 401, makes Next-Auth refresh once (update) and retries: still signed in.
  await page.clock.setSystemTime((await page.evaluate(() => Date.now())) - 60_000);
  const expired = page.waitForResponse((r) => r.url().includes("/api/auth/user/") && r.status() === 401, { timeout: STEP_MS * 2 });
  count = logLines(/socialauth refresh: 200/);
  await sleep(LIFETIME + 1000);
  jti = await reloadedWithNewToken(page, await text(page, "jti"));
  await expired;
  assert.ok(logLines(/socialauth refresh: 200/) > count, "no forced refresh was logged");
  log("clock jumped back: user-me said 401, one forced refresh, the retry worked; jti", jti);
  await shot(page, "skewed-clock");
}

async function cookieFlow(context) {
  const page = context.pages()[0] || (await context.newPage());
  const loginRequest = page.waitForRequest((r) => r.url().includes("/api/social/login/google/") && r.method() === "POST", { timeout: STEP_MS * 2 });
  const loginResponse = page.waitForResponse((r) => r.url().includes("/api/social/login/google/") && r.request().method() === "POST", { timeout: STEP_MS * 2 });
  const userMes = [];
  page.on("request", (r) => { if (r.url().includes("/api/auth/user/")) userMes.push(r.method()); });
  const pk = await signIn(page);
  await sleep(1000);
  assert.deepEqual(userMes, ["GET"], "after sign-in the page asked for the user more than once");
  assert.equal((await (await loginRequest).allHeaders())["origin"], APP_URL, "the browser's login carried no Origin");
  const login = await (await loginResponse).json();
  assert.equal(login.refresh, undefined, "cookie mode must not send the refresh token in the body");
  const cookies = await context.cookies(SOCIALAUTH_URL + "/api/auth/");
  const byName = Object.fromEntries(cookies.map((c) => [c.name, c]));
  assert.ok(byName["sa-access"]?.httpOnly && byName["sa-refresh"]?.httpOnly, "HttpOnly cookies missing: " + JSON.stringify(cookies.map((c) => c.name)));
  const session = await page.evaluate(() => fetch("/api/auth/session").then((r) => r.json()));
  assert.equal(session.google, undefined, "Next-Auth still hands out Google's tokens after the login");
  log("signed in: the browser posted Google's id_token (Origin", APP_URL + "), got HttpOnly cookies; user", pk);
  await shot(page, "signed-in");

  await page.getByTestId("first-name").fill("Augusta");
  await page.getByTestId("save").click();
  await page.getByTestId("message").filter({ hasText: "Saved." }).waitFor({ timeout: STEP_MS });
  log("first name saved with a cookie-authenticated PATCH (Origin checked)");

  const access = byName["sa-access"].value;
  const early = await refreshesBeforeExp(page, (exp) =>
    page.waitForRequest((q) => q.url().includes("/api/auth/token/refresh/"), { timeout: STEP_MS })
      .then(async (r) => {
        const ms = exp - Date.now();
        assert.equal((await r.response()).status(), 200);
        return ms;
      }),
    async () => {
      const from = await page.evaluate(() => Number(localStorage.getItem("socialauth.refreshBy")));
      assert.ok(from > 0, "the page keeps no refresh time");
      return from;
    });
  log(`the page refreshed through the refresh cookie ${early.ms} ms before its access token's exp; user-me works`);
  await shot(page, "refreshed");

  await sleep(LIFETIME + 1000);
  const refreshed = page.waitForResponse((r) => r.url().includes("/api/auth/token/refresh/"), { timeout: STEP_MS });
  await page.reload();
  assert.equal((await refreshed).status(), 200);
  await signedIn(page);
  assert.equal(await text(page, "user-name"), "Augusta Lovelace");
  log("after a page reload past the access lifetime: refreshed, first name still Augusta");

  // The browser's clock is a minute slow: the page does not see its refresh time come, the
  // access cookie expires, user-me says 401, the page refreshes once and retries.
  await page.clock.install({ time: Date.now() - 60_000 });
  await page.clock.resume();
  await page.reload();
  await signedIn(page);
  const refused = page.waitForResponse((r) => r.url().includes("/api/auth/user/") && r.status() === 401, { timeout: STEP_MS * 2 });
  const retried = page.waitForResponse((r) => r.url().includes("/api/auth/token/refresh/"), { timeout: STEP_MS * 2 });
  await sleep(LIFETIME + 1000);
  await reloadedWithNewToken(page, await text(page, "jti"));
  await refused;
  assert.equal((await retried).status(), 200);
  log("browser clock a minute slow: user-me said 401, one refresh, the retry worked");

  const now = Object.fromEntries((await context.cookies(SOCIALAUTH_URL + "/api/auth/")).map((c) => [c.name, c.value]));
  assert.notEqual(now["sa-access"], access);
  const loggedOut = page.waitForResponse((r) => r.url().includes("/api/auth/logout/"), { timeout: STEP_MS });
  await page.getByTestId("signout").click();
  assert.equal((await loggedOut).status(), 200);
  await page.getByTestId("signin").waitFor({ timeout: STEP_MS });
  const left = (await context.cookies(SOCIALAUTH_URL + "/api/auth/")).map((c) => c.name);
  assert.deepEqual(left.filter((n) => n.startsWith("sa-")), [], "logout left cookies");
  assert.equal((await userMe(now["sa-access"])).status, 401, "the access cookie's token still works after logout");
  log("logged out: cookies cleared, the last access token refused");

  assert.equal(await signIn(page), pk, "signing in again gave another user");
  log("signed in again as the same user", pk);
}

const timer = setTimeout(() => { console.error(`${mode}: overall browser timeout`); process.exit(2); }, 240_000);
const context = await chromium.launchPersistentContext(USER_DATA_DIR, {
  executablePath: CHROMIUM,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-breakpad", "--disable-crash-reporter", `--crash-dumps-dir=${USER_DATA_DIR}/crash`],
  // Nothing written outside the temporary profile (Chromium's crash and config folders).
  env: { ...process.env, HOME: USER_DATA_DIR, XDG_CONFIG_HOME: `${USER_DATA_DIR}/config`,
         XDG_CACHE_HOME: `${USER_DATA_DIR}/cache` },
  viewport: { width: 1000, height: 760 },
});
const icons = [];   // the page declares no icon: no request for /favicon.ico (a 404 in the console)
context.on("request", (r) => { if (r.url().includes("favicon")) icons.push(r.url()); });
let status = 0;
try {
  for (const p of context.pages()) p.on("pageerror", (e) => log("page error:", e.message));
  context.on("page", (p) => p.on("pageerror", (e) => log("page error:", e.message)));
  await (mode === "cookie" ? cookieFlow(context) : bearerFlow(context));
  assert.deepEqual(icons, [], "the browser asked for a favicon");
  log("PASS");
} catch (e) {
  status = 1;
  log("FAIL:", e.stack || e);
  for (const [i, p] of context.pages().entries()) await p.screenshot({ path: `${ARTIFACTS}/${mode}-failure-${i}.png` }).catch(() => {});
} finally {
  await context.close();
  clearTimeout(timer);
}
process.exit(status);
