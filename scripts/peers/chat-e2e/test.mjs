// End-to-end: the example chat page in two headless Chromium sessions. A sends; B's page shows
// the message without a reload; B's page (open and visible) reads it and A's page shows "read".
// Also: B sees A typing, A sees B online.
//
// Usage: node test.mjs <base url> <email A> <email B> <password>
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [base, emailA, emailB, password] = process.argv.slice(2);
const TIMEOUT = 15_000;
const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

async function session(email) {
  const profile = mkdtempSync(join(tmpdir(), "vendrome-chat-"));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: FLAGS,
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(TIMEOUT);
  page.on("pageerror", (error) => console.error(`[${email}] page error:`, error.message));
  await page.goto(`${base}/examples/chat/`);
  await page.getByTestId("login-email").fill(email);
  await page.getByTestId("login-password").fill(password);
  await page.getByTestId("login-submit").click();
  await page.locator('[data-testid="connection"][data-ready="true"]').waitFor();
  await page.locator('[data-testid="conversation"]').first().click();
  await page.getByTestId("composer").waitFor();
  return { browser, page, profile };
}

function step(name) {
  console.log(`chat-e2e: ${name}`);
}

const a = await session(emailA);
const b = await session(emailB);
try {
  step("A sees B online");
  await a.page.locator('[data-testid="presence"][data-status="online"]').waitFor();

  step("B sees A typing");
  await a.page.getByTestId("composer").pressSequentially("Hello from A", { delay: 20 });
  await b.page.getByTestId("typing").waitFor({ state: "visible" });

  step("A sends; B's page shows it without a reload");
  const navigations = [];
  b.page.on("framenavigated", (frame) => navigations.push(frame.url()));
  await a.page.getByTestId("send").click();
  await b.page.locator('[data-testid="message"]', { hasText: "Hello from A" }).waitFor();
  await b.page.getByTestId("typing").waitFor({ state: "hidden" });
  if (navigations.length > 0) throw new Error(`B's page navigated: ${navigations}`);

  step("B's read shows on A's page");
  const mine = a.page.locator('[data-testid="message"]', { hasText: "Hello from A" });
  await mine.locator('[data-testid="status"]', { hasText: "read" }).waitFor();

  step("B replies; A's page shows it and B's message is read by A");
  await b.page.getByTestId("composer").fill("Hi A, got it");
  await b.page.getByTestId("send").click();
  await a.page.locator('[data-testid="message"]', { hasText: "Hi A, got it" }).waitFor();
  const reply = b.page.locator('[data-testid="message"]', { hasText: "Hi A, got it" });
  await reply.locator('[data-testid="status"]', { hasText: "read" }).waitFor();

  step("passed");
} catch (error) {
  await a.page.screenshot({ path: join(tmpdir(), "vendrome-chat-a.png") }).catch(() => {});
  await b.page.screenshot({ path: join(tmpdir(), "vendrome-chat-b.png") }).catch(() => {});
  console.error(`chat-e2e: FAILED: ${error.message} (screenshots in ${tmpdir()}/vendrome-chat-{a,b}.png)`);
  process.exitCode = 1;
} finally {
  for (const s of [a, b]) {
    await s.browser.close();
    rmSync(s.profile, { recursive: true, force: true });
  }
}
