// Drives the heapscope console in headless Chromium: upload a fixture, wait for its
// analysis, open Suspects, search an @id, expand its retainers, follow the path to a GC
// root, and visit the other tabs, saving a screenshot of each step.
//
// Run by crates/heapscope-web/tests/e2e.rs with:
//   HEAPSCOPE_URL (the console URL with ?token=), HEAPSCOPE_FIXTURE (a snapshot file),
//   HEAPSCOPE_ARTIFACTS (screenshot directory), HEAPSCOPE_CHROMIUM (the browser binary),
//   HEAPSCOPE_SERIES (three snapshots of one process, separated by the path delimiter).
import { chromium } from 'playwright-core';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const url = process.env.HEAPSCOPE_URL;
const fixture = process.env.HEAPSCOPE_FIXTURE;
const artifacts = process.env.HEAPSCOPE_ARTIFACTS;
const executablePath = process.env.HEAPSCOPE_CHROMIUM;
// Three snapshots of one process, oldest first, for the Comparison tab: BASELINE, TARGET, FINAL.
const series = process.env.HEAPSCOPE_SERIES.split(path.delimiter);
// Screenshots of an earlier run must not pass for this one's.
rmSync(artifacts, { recursive: true, force: true });
mkdirSync(artifacts, { recursive: true });

const browser = await chromium.launch({
  executablePath,
  headless: true,
  // The sandbox needs user namespaces, which containers (and CI runners as root) lack.
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const failures = [];
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
page.on('console', (m) => { if (m.type() === 'error') failures.push(`console error: ${m.text()}`); });
page.setDefaultTimeout(30_000);
const shot = async (name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
const step = (text) => console.log(`e2e: ${text}`);

try {
  await page.goto(url);
  // The token went into a cookie and out of the URL.
  if (page.url().includes('token=')) throw new Error(`the token stayed in the URL: ${page.url()}`);
  await page.waitForSelector('[data-testid=drop]');

  step('upload');
  await page.setInputFiles('[data-testid=file-input]', fixture);
  await page.waitForSelector('tr[data-status=ready]', { timeout: 240_000 });
  await shot('01-snapshots');

  step('suspects');
  await page.click('tr[data-status=ready] a');
  await page.waitForSelector('[data-testid=suspect]');
  const title = await page.textContent('[data-testid=suspect] h3');
  if (!/TCP/.test(title)) throw new Error(`the first suspect is not the TCP leak: ${title}`);
  await shot('02-suspects');
  const id = await page.getAttribute('[data-testid=suspect] dd a[data-object]', 'data-object');

  step(`search @${id}`);
  await page.click('[data-testid=tab-search]');
  await page.fill('[data-testid=search-input]', `@${id}`);
  await page.press('[data-testid=search-input]', 'Enter');
  await page.waitForSelector('[data-testid=object]');
  if (!page.url().endsWith(`/object/${id}`)) throw new Error(`the URL does not name the object: ${page.url()}`);
  await page.waitForSelector('[data-testid=retainers] li');
  await shot('03-object');

  step('expand retainers');
  const before = await page.locator('[data-testid=retainers] li').count();
  await page.click('[data-testid=retainers] [data-testid=retainers-toggle][data-open]');
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=retainers] li').length > n, before);
  await page.click('[data-testid=retainers] ul ul [data-testid=retainers-toggle][data-open]');
  await page.waitForSelector('[data-testid=retainers] ul ul ul li');
  await shot('04-retainers');

  step('follow the path');
  await page.click('[data-testid=path-link]');
  await page.waitForSelector('[data-testid=path] .path');
  const pathText = await page.textContent('[data-testid=path] .path');
  if (!pathText.startsWith('(GC roots)') || !pathText.includes(`@${id}`)) {
    throw new Error(`unexpected path: ${pathText}`);
  }
  await shot('05-path');

  step('search by name');
  await page.click('[data-testid=tab-search]');
  await page.fill('[data-testid=search-input]', 'smtpconnection');
  await page.press('[data-testid=search-input]', 'Enter');
  await page.waitForSelector('[data-testid=search-objects] tbody tr a[data-object]');
  const named = await page.locator('[data-testid=search-objects] tbody tr a[data-object]').count();
  if (named !== 50) throw new Error(`expected a first page of 50 objects named SMTPConnection, got ${named}`);
  await page.click('[data-testid=search-more]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=search-objects] tbody tr a[data-object]').length > 50);
  if (!(await page.textContent('[data-testid=search-classes]')).includes('SMTPConnection')) {
    throw new Error('the class SMTPConnection is not among the matching classes');
  }
  await shot('05b-search-by-name');

  step('summary');
  await page.click('[data-testid=tab-summary]');
  await page.waitForSelector('tr[data-class]');
  await page.fill('[data-testid=summary-filter]', 'TCP');
  // The filtered table has replaced the full one.
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('tr[data-class]')];
    return rows.length > 0 && rows.every((r) => r.textContent.includes('TCP'));
  });
  await page.click('tr[data-class=",TCP"] td');
  await page.waitForSelector('tr.sub a[data-object]');
  await shot('06-summary');

  step('dominators');
  await page.click('[data-testid=tab-dominators]');
  await page.waitForSelector('[data-testid=dominators] li');
  await page.click('[data-testid=dominators] li [data-open]');
  await page.waitForSelector('[data-testid=dominators] ul ul li');
  await shot('07-dominators');

  step('statistics');
  await page.click('[data-testid=tab-statistics]');
  await page.waitForSelector('[data-testid=statistics] svg');
  await shot('08-statistics');

  step('containment');
  await page.click('[data-testid=tab-containment]');
  await page.waitForSelector('[data-testid=containment] li');
  await page.click('[data-testid=containment] [data-open]');
  await page.waitForSelector('[data-testid=containment] ul ul li');
  await shot('09-containment');

  step('an unknown object');
  await page.goto(page.url().replace(/(#\/snapshot\/\d+\/).*$/, '$1object/999999999'));
  await page.waitForSelector('[data-testid=error]');
  await shot('10-unknown-object');

  step('comparison of two snapshots of one process');
  await page.click('[data-testid=nav-snapshots]');
  await page.setInputFiles('[data-testid=file-input]', series);
  await page.waitForFunction((n) => document.querySelectorAll('tr[data-status=ready]').length === n, series.length + 1, { timeout: 240_000 });
  // Both uploads ran at once, so their ids do not tell their order: pick them by name.
  const ids = await page.$$eval('tr[data-status=ready]', (rows) =>
    Object.fromEntries(rows.map((r) => [r.children[1].textContent.trim(), r.dataset.snapshot])));
  const [base, target, latest] = series.map((f) => ids[path.basename(f)]);
  await page.goto(page.url().replace(/#.*$/, `#/snapshot/${latest}/comparison/${base}`));
  await page.waitForSelector('[data-testid=comparison] tbody tr');
  if (await page.$('[data-testid=comparison] .error')) throw new Error('the two snapshots were not matched by id');
  await shot('11-comparison');

  step('three snapshots');
  await page.selectOption('[data-testid=three-target]', target);
  await page.waitForSelector('[data-testid=three-snapshot] [data-testid=suspect]');
  const clusters = await page.locator('[data-testid=three-snapshot] [data-testid=suspect]').count();
  if (clusters !== 3) throw new Error(`expected the 3 clusters the CLI finds, got ${clusters}`);
  await page.locator('[data-testid=three-snapshot]').scrollIntoViewIfNeeded();
  await shot('12-three-snapshot');
} catch (e) {
  failures.push(e.stack || String(e));
  await shot('failure').catch(() => {});
} finally {
  await browser.close();
}
// Errors the console logs for the deliberate 404 are expected.
const real = failures.filter((f) => !/404/.test(f));
if (real.length) {
  console.error(real.join('\n'));
  process.exit(1);
}
step('all steps passed');
