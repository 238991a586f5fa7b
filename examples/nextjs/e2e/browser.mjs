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

  let jti = await text(page, "jti");
  const refreshes = logLines(/socialauth refresh: 200/);
  await sleep(LIFETIME + 1000);
  jti = await reloadedWithNewToken(page, jti);
  assert.ok(logLines(/socialauth refresh: 200/) > refreshes, "no refresh was logged");
  log("access token expired, refreshed by the jwt callback; new jti", jti);
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
}

async function cookieFlow(context) {
  const page = context.pages()[0] || (await context.newPage());
  const loginRequest = page.waitForRequest((r) => r.url().includes("/api/social/login/google/") && r.method() === "POST", { timeout: STEP_MS * 2 });
  const loginResponse = page.waitForResponse((r) => r.url().includes("/api/social/login/google/") && r.request().method() === "POST", { timeout: STEP_MS * 2 });
  const pk = await signIn(page);
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
  await sleep(LIFETIME + 1000);
  let refreshed = page.waitForResponse((r) => r.url().includes("/api/auth/token/refresh/"), { timeout: STEP_MS });
  await reloadedWithNewToken(page, await text(page, "jti"));
  assert.equal((await refreshed).status(), 200);
  log("the page refreshed through the refresh cookie before its access cookie expired; user-me works");
  await shot(page, "refreshed");

  await sleep(LIFETIME + 1000);
  refreshed = page.waitForResponse((r) => r.url().includes("/api/auth/token/refresh/"), { timeout: STEP_MS });
  await page.reload();
  assert.equal((await refreshed).status(), 200);
  await signedIn(page);
  assert.equal(await text(page, "user-name"), "Augusta Lovelace");
  log("after a page reload past the access lifetime: refreshed, first name still Augusta");

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
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  viewport: { width: 1000, height: 760 },
});
let status = 0;
try {
  for (const p of context.pages()) p.on("pageerror", (e) => log("page error:", e.message));
  context.on("page", (p) => p.on("pageerror", (e) => log("page error:", e.message)));
  await (mode === "cookie" ? cookieFlow(context) : bearerFlow(context));
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
