// akapit's search page in a real browser: Debian's chromium, headless, driven by
// playwright-core. Types a Polish question with the keyboard, checks the first result, its
// highlight and citation, opens it in context and follows "related" by keyboard alone,
// checks that a document holding <script> and <img onerror> shows them as text and runs
// nothing, that the page fetches nothing from elsewhere, and that it fits a narrow screen.
//
//   node page_test.mjs URL SCREENSHOT.png [CHROMIUM]
//
// Exits non-zero with the failed check on stderr.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";

const [url, screenshot, executable = "/usr/bin/chromium"] = process.argv.slice(2);
const QUESTION = "Ile wspólnych działań przewiduje pięcioletni plan współpracy wojskowej?";
const ANSWER = "160 wspólnych działań";
const origin = new URL(url).origin;

const browser = await chromium.launch({
  executablePath: executable,
  // Running as root (CI) chromium needs --no-sandbox.
  args: ["--no-sandbox", "--disable-gpu", "--lang=pl-PL"],
});
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 }, locale: "pl-PL" });
  const elsewhere = [];
  const dialogs = [];
  const errors = [];
  await page.route("**/*", (route) => {
    if (route.request().url().startsWith(origin)) return route.continue();
    elsewhere.push(route.request().url());
    return route.abort();
  });
  page.on("dialog", (dialog) => { dialogs.push(dialog.message()); dialog.dismiss(); });
  page.on("pageerror", (error) => errors.push(error.message));

  await page.goto(url);
  assert.equal(await page.title(), "akapit");
  assert.equal(await page.evaluate(() => document.activeElement.id), "q", "the question box has the focus");

  // A Polish question, typed key by key, searched with Enter.
  await page.keyboard.type(QUESTION);
  await page.keyboard.press("Enter");
  const first = page.locator("#results > li").first();
  await first.waitFor();
  const text = await first.locator("p.text").innerText();
  assert.ok(text.includes(ANSWER), `the first result holds ${ANSWER}: ${text}`);
  const marked = await first.locator("mark").allInnerTexts();
  assert.ok(marked.join(" ").includes("160"), `the highlight holds the answer: ${marked}`);
  const cite = await first.locator("cite").innerText();
  assert.match(cite, /^seeds\/.+ ¶\d+, lines? \d+/, `citation: ${cite}`);
  console.log(`first result: ${cite}; highlight: ${marked[0].slice(0, 80)}…`);
  await page.screenshot({ path: screenshot, fullPage: false });

  // By keyboard alone: Tab to the first result's "in context", open it.
  const focused = () => page.evaluate(() => document.activeElement.textContent);
  let steps = 0;
  while ((await focused()) !== "in context" && steps++ < 10) await page.keyboard.press("Tab");
  assert.equal(await focused(), "in context", "Tab reaches the first result's “in context”");
  await page.keyboard.press("Enter");
  const context = first.locator(".context");
  await context.locator("p.target").waitFor();
  assert.ok((await context.locator("p.target").innerText()).includes(ANSWER), "the context marks the passage");
  console.log(`in context: ${await context.locator("p").count()} passages`);

  // Then "related", which lists passages of other documents.
  await page.keyboard.press("Tab");
  assert.equal(await focused(), "related");
  await page.keyboard.press("Enter");
  await page.locator("#heading", { hasText: "Related to" }).waitFor();
  const doc = cite.split(" ")[0];
  const relatedCites = await page.locator("#results cite").allInnerTexts();
  assert.ok(relatedCites.length > 0, "related lists passages");
  assert.ok(relatedCites.every((c) => !c.startsWith(doc + " ")), `related is from other documents: ${relatedCites}`);
  console.log(`related: ${relatedCites.length} passages, first ${relatedCites[0]}`);

  // A hostile document: its markup is shown as text, nothing runs.
  await page.fill("#q", "wrogi dokument script onerror");
  await page.selectOption("#mode", "lexical");
  await page.keyboard.press("Enter");
  await page.locator("#heading", { hasText: "wrogi dokument" }).waitFor();
  const hostile = page.locator("#results > li", { hasText: "<script>" }).first();
  await hostile.waitFor();
  assert.ok((await hostile.innerText()).includes("<img src=x onerror="), "markup shown as text");
  await page.waitForTimeout(300);
  assert.equal(await page.locator("#results script, #results img").count(), 0, "no element made from document text");
  assert.equal(await page.evaluate(() => window.pwned), undefined, "no script of the document ran");
  assert.deepEqual(dialogs, [], "no dialog opened");
  console.log("hostile document: shown as text, nothing ran");

  // A narrow screen: nothing wider than the screen.
  await page.setViewportSize({ width: 360, height: 740 });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 360, `the page fits 360 px (it is ${wide} px wide)`);
  console.log(`narrow screen: ${wide} px wide at 360 px`);

  assert.deepEqual(elsewhere, [], "the page fetched nothing from elsewhere");
  assert.deepEqual(errors, [], "no script errors");
  console.log("page: every check passed");
} catch (error) {
  failed = true;
  console.error(`page check failed: ${error.message}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
