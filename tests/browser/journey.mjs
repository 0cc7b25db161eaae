// The pages in a real browser (Debian's Chromium, driven by playwright-core; no browser download).
// Driven by tests/browser/test_pages_browser.py, which starts the services and passes, in the env:
//   INTAKE_URL, SCREENSHOT_DIR, CHROMIUM (executable), NODE_PATH (.local/node/node_modules)
// Prints one JSON line per step; exits non-zero on the first failed expectation.
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_MODULES, "noop.js"));
const { chromium } = require("playwright-core");

const BASE = process.env.INTAKE_URL;
const SHOTS = process.env.SCREENSHOT_DIR;
mkdirSync(SHOTS, { recursive: true });

function expect(cond, what) {
  if (!cond) throw new Error(`expected: ${what}`);
}
function step(name, extra = {}) {
  console.log(JSON.stringify({ step: name, ...extra }));
}
async function shoot(page, name) {
  for (const width of [375, 1280]) {
    await page.setViewportSize({ width, height: width === 375 ? 812 : 900 });
    await page.screenshot({ path: path.join(SHOTS, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}
async function poll(what, fn, timeoutMs = 60000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const got = await fn();
    if (got) return got;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
async function outboxText(page, needle) {
  await page.goto(`${BASE}/outbox`);
  const cards = await page.locator(".outbox-message").allInnerTexts();
  return cards.find((t) => t.includes(needle));
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // Nothing leaves the machine: any request not to the intake fails the journey.
  const foreign = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(BASE)) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  await page.goto(`${BASE}/report`);
  const firstText = (await page.locator("main").innerText()).trim().slice(0, 120);
  expect(firstText.includes("call 999"), `the 999 warning first, got: ${firstText}`);
  // Keyboard: the first Tab reaches the skip link.
  await page.keyboard.press("Tab");
  expect((await page.evaluate(() => document.activeElement.className)).includes("govuk-skip-link"), "skip link first");
  const css = await page.evaluate(() => getComputedStyle(document.querySelector(".govuk-button")).backgroundColor);
  expect(css === "rgb(0, 112, 60)" || css === "rgb(0, 120, 63)" || css.startsWith("rgb(0,"), `govuk button styles, got ${css}`);
  await shoot(page, "report");
  step("report form shown");

  // Errors: nothing chosen, a bad phone number.
  await page.fill("#description", "");
  await page.fill("#phone", "12345");
  await page.click("button[type=submit]");
  await page.waitForSelector(".govuk-error-summary");
  const summary = await page.locator(".govuk-error-summary__list").innerText();
  expect(summary.includes("Choose what your report is about") && summary.includes("Tell us what happened"), summary);
  expect(await page.locator("#phone-error").isVisible(), "the phone error next to the field");
  expect((await page.inputValue("#phone")) === "12345", "what was typed is kept");
  await shoot(page, "report-errors");
  // The summary links move focus to the field.
  await page.click(".govuk-error-summary__list a[href='#description']");
  expect(await page.evaluate(() => document.activeElement.id) === "description", "summary link focuses the field");
  step("field errors shown");

  // A good report, sent with the keyboard.
  await page.check("input[name=category][value=speeding]");
  await page.fill("#description", "Cars racing on Bedford Road every night after 10pm. I'm Jo Bloggs on 07700 900123");
  await page.fill("#postcode", "MK42 8AA");
  await page.fill("#phone", "07700 900123");
  await page.focus("#postcode");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#reference");
  const reference = (await page.locator("#reference").innerText()).trim();
  expect(/^MECC-/.test(reference), `a reference, got ${reference}`);
  await shoot(page, "report-done");
  step("report sent", { reference });

  // The acknowledgement in the outbox carries the track link.
  const ack = await poll("the acknowledgement", () => outboxText(page, `Ref ${reference}`));
  const link = ack.match(/Track it: (\S+)/)[1];
  expect(link.startsWith(BASE), `the track link points at the intake: ${link}`);
  await shoot(page, "outbox");
  await page.goto(link);
  await page.waitForSelector("#timeline");
  const timeline = await page.locator("#timeline").innerText();
  expect(timeline.includes("Where it went") && timeline.includes("Kempston neighbourhood team"), timeline);
  await shoot(page, "track");
  step("track link followed");
  const wrong = await page.goto(link.replace(/secret=\w/, "secret=z"));
  expect(wrong.status() === 404, "a wrong secret shows nothing");

  // Another report, for another watch's patch and category: the speed watch never sees it.
  await page.goto(`${BASE}/report`);
  await page.check("input[name=category][value=burglary-concern]");
  await page.fill("#description", "Someone trying car doors and looking into sheds");
  await page.fill("#postcode", "MK42 7AB");
  await page.fill("#phone", "07700 900124");
  await page.click("button[type=submit]");
  const other = (await page.locator("#reference").innerText()).trim();
  await poll("the second report routed", () => outboxText(page, `Ref ${other}`));

  // Sign in as the speed watch coordinator.
  await page.goto(`${BASE}/sign-in`);
  await page.fill("#api_key", "dev-watch-kempston-speed");
  await page.click("button[type=submit]");
  await page.waitForSelector("h1:has-text('Inbox')");
  const inbox = await page.locator("main").innerText();
  expect(inbox.includes(reference), "the watch's own item is listed");
  expect(!inbox.includes(other), "another watch's item is not");
  for (const personal of ["Bloggs", "07700", "900123"]) expect(!inbox.includes(personal), `no ${personal} in the inbox`);
  await shoot(page, "inbox");
  step("coordinator inbox", { other });

  await page.click(`a:has-text('${reference}')`);
  const item = await page.locator("#description").innerText();
  expect(item.includes("[name]") && item.includes("[phone]"), `redacted: ${item}`);
  const action = "Kempston Speed Watch ran a speed check on Bedford Road on Tuesday evening";
  await page.fill("#public_text", action);
  await page.click("#preview");
  await page.waitForSelector("#preview-sms");
  expect((await page.locator("#preview-sms").innerText()).includes(action), "the SMS preview shows the words");
  await shoot(page, "inbox-preview");
  await page.click("#send");
  await page.waitForSelector("#recorded");
  await shoot(page, "inbox-recorded");
  step("action recorded");

  // The informant's update arrives, and the track page shows it.
  await poll("the informant's update", () => outboxText(page, `Update on ${reference} from Kempston Speed Watch`));
  await page.goto(link);
  await poll("the action on the track page",
    async () => { await page.reload(); return (await page.locator("#timeline").innerText()).includes(action); });
  await shoot(page, "track-updated");
  step("informant heard");

  await page.goto(`${BASE}/dashboard`);
  expect((await page.locator("svg").count()) > 0, "a chart");
  await shoot(page, "dashboard");
  // Nothing written to or by the informant is public: not the words the watch wrote to them, not
  // theirs, not their name or number; and no sensitive category is named (none is counted).
  for (const publicPage of ["/dashboard", "/neighbourhoods", "/neighbourhoods/kempston-north", "/v1/publications?neighbourhood=kempston-north"]) {
    const answer = await page.goto(`${BASE}${publicPage}`);
    expect(answer.status() === 200, `${publicPage} answers 200, got ${answer.status()}`);
    const shown = await page.locator("body").innerText();
    for (const secret of [action, "Cars racing on Bedford Road", "Bloggs", "07700", "900123", "Domestic abuse", "domestic-abuse"]) {
      expect(!shown.includes(secret), `${publicPage} shows nothing of "${secret}"`);
    }
  }
  step("public pages hold nothing personal");
  await page.goto(`${BASE}/`);
  await shoot(page, "start");
  expect(foreign.length === 0, `no request left the machine: ${foreign.join(", ")}`);
  step("done");
} finally {
  await browser.close();
}
