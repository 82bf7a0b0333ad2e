// The portal's whole journey in headless Chromium, as a customer walks it: sign in, create a
// webhook, create a consumer, connect Okta SCIM and read its metadata from the page, push users and
// a group as Okta would, watch the deliveries, retry a failed one, list employees, list them again
// from the API Explorer, and share a setup link that shows the directory connected.
//
// Started by crates/e2e/tests/portal.rs with PORTAL_URL, APP_ID and API_KEY. Fails on any request
// to a host other than 127.0.0.1, any console error and any serious or critical axe-core finding.
import { createServer } from "node:http";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const { PORTAL_URL, APP_ID, API_KEY } = process.env;
const DEADLINE_MS = 30_000;
const problems = [];

function fail(message) {
  throw new Error(message);
}

async function until(what, check, ms = DEADLINE_MS) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

// A webhook receiver on 127.0.0.1 that verifies signatures and fails on demand.
const received = [];
let failMatching = null;
let secret = null;
const receiver = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => { body += c; });
  req.on("end", () => {
    const id = req.headers["webhook-id"], ts = req.headers["webhook-timestamp"];
    const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
    const expected = createHmac("sha256", key).update(`${id}.${ts}.${body}`).digest("base64");
    const signed = (req.headers["webhook-signature"] || "").split(" ").includes(`v1,${expected}`);
    if (!signed) problems.push(`unsigned or badly signed webhook ${id}`);
    const event = JSON.parse(body);
    received.push(event);
    const failing = failMatching && body.includes(failMatching);
    res.writeHead(failing ? 500 : 204);
    res.end(failing ? "receiver down for the test" : undefined);
  });
});
await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
const receiverUrl = `http://127.0.0.1:${receiver.address().port}/hooks`;

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

function watch(page) {
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console error on ${page.url()}: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`page error on ${page.url()}: ${e.message}`));
  page.on("request", (r) => {
    const url = new URL(r.url());
    if (!["http:", "https:"].includes(url.protocol)) return; // data:, blob:
    if (url.hostname !== "127.0.0.1") problems.push(`request to another host: ${r.url()}`);
  });
  return page;
}

async function axe(page, label, exclude = []) {
  await page.evaluate(AXE);
  const result = await page.evaluate(
    (exclude) => window.axe.run({ exclude }, { resultTypes: ["violations"] }),
    exclude,
  );
  for (const v of result.violations) {
    if (["serious", "critical"].includes(v.impact)) {
      const where = v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("; ");
      problems.push(`axe ${v.impact} on ${label}: ${v.id} (${v.help}) at ${where}`);
    }
  }
}

const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = watch(await context.newPage());
const started = Date.now();
const step = (name) => console.log(`step (${((Date.now() - started) / 1000).toFixed(1)} s): ${name}`);
// SCREENSHOTS_DIR=docs/images (an absolute path) also saves the screenshots docs/portal.md shows.
const shot = async (p, name) => {
  if (process.env.SCREENSHOTS_DIR) console.log(`screenshot ${name} at ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (process.env.SCREENSHOTS_DIR) await p.screenshot({ path: `${process.env.SCREENSHOTS_DIR}/portal-${name}.png`, fullPage: name === "delivery-log" });
};

try {
  step("sign in");
  await page.goto(`${PORTAL_URL}/`);
  if (!page.url().endsWith("/signin")) fail(`/ did not lead to sign-in: ${page.url()}`);
  await axe(page, "sign-in");
  await page.fill("#applicationId", APP_ID);
  await page.fill("#apiKey", API_KEY);
  await page.click("button[type=submit]");
  await page.waitForURL(`${PORTAL_URL}/consumers`);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "uapi_portal_session");
  if (!session || !session.httpOnly || session.sameSite !== "Strict") fail(`session cookie ${JSON.stringify(session)}`);
  if ((await page.content()).includes(API_KEY)) fail("the API key is in a page");

  step("create a webhook");
  await page.click("nav >> text=Webhooks");
  await axe(page, "webhooks (empty)");
  await page.click("text=New webhook");
  await page.fill("#deliveryUrl", receiverUrl);
  await axe(page, "new webhook");
  await page.click("button:has-text('Create webhook')");
  await page.waitForURL(/\/webhooks\/[0-9a-f-]{36}$/);
  secret = await page.inputValue("#secret-once");
  if (!secret.startsWith("whsec_")) fail(`the signing secret is not shown: ${secret}`);
  const webhookUrl = page.url();
  await axe(page, "webhook");
  await page.reload();
  if (await page.locator("#secret-once").count()) fail("the signing secret is shown twice");

  step("send a test event");
  await page.click("button:has-text('Send test event')");
  await until("the test event", () => received.find((e) => e.eventType === "webhook.test"));

  step("create a consumer, connect Okta SCIM");
  await page.click("nav >> text=Consumers");
  await page.fill("#name", "Acme Corp");
  await page.fill("#reference", "acme-42");
  await axe(page, "consumers");
  await page.click("button:has-text('Create consumer')");
  await page.waitForURL(/\/consumers\/[0-9a-f-]{36}\?tab=available$/);
  const consumerUrl = page.url().replace(/\?.*$/, "");
  await axe(page, "consumer (available)");
  await page.click("button:has-text('Connect Okta SCIM')");
  await page.waitForURL(/\/connections\/[0-9a-f-]{36}$/);
  const connectionUrl = page.url();
  const baseUrl = await page.inputValue("#base-url");
  const token = await page.inputValue("#api-token");
  if (!baseUrl.endsWith("/scim/v2") || token.length < 20) fail(`metadata ${baseUrl} ${token.length}`);
  const waiting = await page.textContent("#directory-status");
  if (!waiting.includes("Waiting for Okta")) fail(`a new connection's status: ${waiting}`);
  await axe(page, "connection");
  await shot(page, "connection");

  step("push users and a group as Okta would");
  const scim = async (method, path, body) => {
    const r = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/scim+json" },
      body: body && JSON.stringify(body),
    });
    return { status: r.status, body: r.status === 204 ? null : await r.json() };
  };
  // The connection reaches scim-ingress through RabbitMQ: Okta's "Test Connector" retries too.
  await until("scim-ingress accepting the token", async () => (await scim("GET", "/Users?count=1")).status === 200);
  const user = (name) => ({
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
    userName: `${name}@acme.example`,
    name: { givenName: name[0].toUpperCase() + name.slice(1), familyName: "Example" },
    emails: [{ value: `${name}@acme.example`, type: "work", primary: true }],
    active: true,
  });
  const ids = {};
  for (const name of ["alice", "bob"]) {
    const r = await scim("POST", "/Users", user(name));
    if (r.status !== 201) fail(`create ${name}: ${r.status}`);
    ids[name] = r.body.id;
  }
  const group = await scim("POST", "/Groups", {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    displayName: "Engineering",
    members: [{ value: ids.alice }, { value: ids.bob }],
  });
  if (group.status !== 201) fail(`create group: ${group.status}`);

  step("the delivery log shows the employee.created deliveries");
  await page.goto(`${webhookUrl}?status=succeeded`);
  await until("two employee.created deliveries in the log", async () => {
    await page.reload();
    return (await page.locator("tr[data-delivery]:has(code:text-is('employee.created'))").count()) >= 2;
  });
  await axe(page, "delivery log");

  step("a failed delivery is retried with the button");
  failMatching = "carol@acme.example";
  const carol = await scim("POST", "/Users", user("carol"));
  if (carol.status !== 201) fail(`create carol: ${carol.status}`);
  await page.goto(`${webhookUrl}?status=failed`);
  const failedRow = "tr[data-delivery]:has(code:text-is('employee.created'))";
  await until("carol's failed delivery", async () => {
    await page.reload();
    return (await page.locator(failedRow).count()) === 1;
  });
  await page.locator(`${failedRow} details summary`).click();
  await shot(page, "delivery-log");
  const attemptStatus = (await page.locator(`${failedRow} table.attempts tbody tr td:nth-child(2)`).textContent()).trim();
  if (attemptStatus !== "500") fail(`the attempt's HTTP status shows ${attemptStatus}`);
  failMatching = null;
  await Promise.all([page.waitForURL(/#log$/), page.locator(`${failedRow} button:has-text('Retry')`).click()]);
  if (!(await page.textContent("[role=status]")).includes("Retry scheduled")) fail("no confirmation of the retry");
  await until("carol's delivery succeeding", async () => {
    await page.goto(`${webhookUrl}?status=failed`);
    return (await page.locator(failedRow).count()) === 0;
  });
  await until("carol's webhook", () => received.filter((e) => e.data?.userName === "carol@acme.example").length >= 2);

  step("the employee list shows the users");
  await page.goto(consumerUrl);
  await page.click("a:has-text('Employees')");
  await until("three employees listed", async () => {
    await page.reload();
    return (await page.locator("tbody tr").count()) === 3;
  });
  await axe(page, "employees");
  await shot(page, "employees");
  await page.click("text=Alice Example");
  await page.waitForSelector("text=Raw SCIM resource");
  if (!(await page.content()).includes("alice@acme.example")) fail("the employee page lacks its fields");
  await axe(page, "employee");
  await page.goto(`${consumerUrl}/groups`);
  await page.waitForSelector("text=Engineering");

  step("the API Explorer lists employees with Try it out");
  await page.goto(consumerUrl);
  await page.click("text=Open in API Explorer");
  await page.waitForURL(/\/explorer\/$/);
  const operation = page.locator("#operations-employees-listEmployees");
  await operation.waitFor();
  await operation.locator(".opblock-summary").click();
  // "Try it out" is on from the start (tryItOutEnabled): Execute is there at once.
  await operation.locator("button.execute").click();
  // The server's answer, not the documented example above it.
  const live = operation.locator(".live-responses-table");
  await live.waitFor();
  const status = (await live.locator("tr.response .response-col_status").first().textContent()).trim();
  if (status !== "200") fail(`the Explorer's call answered ${status}`);
  const listed = await live.locator("tr.response .highlight-code, tr.response .microlight").first().textContent();
  if (!listed.includes("alice@acme.example")) fail(`the Explorer's answer lacks alice: ${listed.slice(0, 300)}`);
  await live.scrollIntoViewIfNeeded();
  await shot(page, "explorer");
  await axe(page, "API Explorer");

  step("a setup link shows the directory connected");
  await page.goto(connectionUrl);
  await page.click("button:has-text('Share setup link')");
  await page.waitForURL(connectionUrl);
  const link = await page.inputValue("#secret-once");
  if (!link.includes("/setup/")) fail(`no setup link: ${link}`);
  const stranger = watch(await (await browser.newContext()).newPage());
  await stranger.goto(link);
  await until("connected: 3 users, 1 group", async () => {
    const text = await stranger.textContent("#directory-status");
    return /Connected: 3 users, 1 group,/.test(text);
  });
  if ((await stranger.inputValue("#api-token")) !== token) fail("the setup page's token differs");
  await shot(stranger, "setup-link");
  await axe(stranger, "setup page");

  step("sign out");
  await page.goto(`${PORTAL_URL}/consumers`);
  await page.click("button:has-text('Sign out')");
  await page.waitForURL(`${PORTAL_URL}/signin`);
  if (await page.evaluate(() => localStorage.length)) fail("the Explorer's token outlived the session");
  await page.goto(`${PORTAL_URL}/webhooks`);
  if (!page.url().endsWith("/signin")) fail("signed out, yet /webhooks shows");
} catch (e) {
  problems.push(`${e.message}\n  at ${page.url()}`);
  await page.screenshot({ path: "journey-failure.png", fullPage: true }).catch(() => {});
} finally {
  await browser.close();
  // The dispatcher keeps its connections to the receiver open: close them, or node waits for them.
  receiver.closeAllConnections();
  receiver.close();
}

if (problems.length) {
  console.error(`FAILED:\n- ${problems.join("\n- ")}`);
  process.exit(1);
}
console.log("journey passed");
process.exit(0);
