// Drives the Processes page in headless Chromium against a server watching a leaking Node
// process: the list, one process's charts, "Take snapshot" with its progress until the
// snapshot is analysed, a CPU profile and its page, and the Profiles section of the
// Snapshots page. Saves `processes-*.png` screenshots.
//
// Run by crates/heapscope-web/tests/e2e_processes.rs with HEAPSCOPE_URL (the console URL with
// ?token=), HEAPSCOPE_PID (the watched process), HEAPSCOPE_ARTIFACTS, HEAPSCOPE_CHROMIUM.
import { chromium } from 'playwright-core';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const url = process.env.HEAPSCOPE_URL;
const pid = process.env.HEAPSCOPE_PID;
const artifacts = process.env.HEAPSCOPE_ARTIFACTS;
mkdirSync(artifacts, { recursive: true });
// Only this script's screenshots: console.mjs owns the others in the same directory.
for (const f of readdirSync(artifacts)) if (f.startsWith('processes-')) rmSync(path.join(artifacts, f));

const browser = await chromium.launch({
  executablePath: process.env.HEAPSCOPE_CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const failures = [];
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
page.on('console', (m) => { if (m.type() === 'error') failures.push(`console error: ${m.text()}`); });
page.on('response', (r) => { if (r.status() >= 400) failures.push(`HTTP ${r.status()} from ${r.request().method()} ${r.url()}`); });
page.setDefaultTimeout(60_000);
const shot = async (name) => page.screenshot({ path: path.join(artifacts, `processes-${name}.png`), fullPage: true });
const step = (text) => console.log(`e2e: ${text}`);

try {
  await page.goto(url);
  await page.click('[data-testid=nav-processes]');

  step('the process list');
  const row = `tr[data-process-status=live]:has(td:text-is("${pid}"))`;
  await page.waitForSelector(row);
  await page.click('[data-testid=discover]');
  await page.waitForSelector('[data-testid=discovered-table]');
  await shot('01-list');

  step('one process: charts');
  await page.click(`${row} [data-testid=process-link]`);
  if (!/#\/process\/\d+$/.test(page.url())) throw new Error(`the URL does not name the process: ${page.url()}`);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=chart-heap] polyline').length >= 2);
  // A flat line has no height, which Playwright calls invisible: attached is enough.
  await page.waitForSelector('[data-testid=chart-handles] polyline', { state: 'attached' });
  await page.click('[data-testid=ranges] a:text-is("5 min")');
  await page.waitForFunction(() => location.hash.endsWith('/5m') && document.querySelector('[data-testid=chart-rss] polyline'));
  await page.hover('[data-testid=chart-heap] rect.hover', { position: { x: 300, y: 60 } });
  await page.waitForFunction(() => /heap used/.test(document.querySelector('[data-testid=chart-heap] [data-readout]').textContent));
  await shot('02-charts');

  step('take a snapshot');
  await page.click('[data-testid=take-snapshot]');
  await page.waitForSelector('[data-testid=capture-snapshot]');
  await shot('03-snapshot-progress');
  await page.waitForSelector('[data-testid=capture-snapshot][data-status=ready] a', { timeout: 240_000 });
  await shot('04-snapshot-ready');

  step('a CPU profile');
  await page.selectOption('[data-testid=profile-duration]', '5s');
  await page.click('[data-testid=cpu-profile]');
  await page.waitForSelector('[data-testid=capture-profile][data-status=ready] a', { timeout: 60_000 });
  await page.click('[data-testid=capture-profile][data-status=ready] a');
  await page.waitForSelector('[data-testid=top-table] tbody tr');
  await page.waitForSelector('[data-testid=flamegraph] svg g.f');
  await shot('05-profile');

  step('the snapshot, analysed');
  await page.goBack();
  await page.waitForSelector('[data-testid=capture-snapshot][data-status=ready] a');
  await page.click('[data-testid=capture-snapshot][data-status=ready] a');
  await page.waitForSelector('[data-testid=suspect], [data-testid=no-suspects]', { timeout: 120_000 });
  await shot('06-snapshot');

  step('snapshots and profiles');
  await page.click('[data-testid=nav-snapshots]');
  await page.waitForSelector('[data-testid=profiles] tr[data-profile-status=ready]');
  await page.waitForSelector('tr[data-status=ready] td a[href^="#/process/"]');
  await shot('07-snapshots-and-profiles');
} catch (e) {
  failures.push(e.stack || String(e));
  await shot('failure').catch(() => {});
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(failures.join('\n'));
  process.exit(1);
}
step('all steps passed');
