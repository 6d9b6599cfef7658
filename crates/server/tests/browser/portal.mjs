// End-to-end walk through the daiko portal in headless Chromium (Debian's /usr/bin/chromium)
// driven by playwright-core. Run by crates/server/tests/browser.rs against a seeded server:
//
//   node portal.mjs <base-url> <screenshot-dir>
//
// Credentials come from the environment (DAIKO_<WHO>_LOGIN / _PASSWORD / _TOTP for INST,
// INSURER, AUDITOR) and DAIKO_ARCHIVE names the sample archive to upload. TOTP codes are
// computed here with node's own HMAC-SHA1 (RFC 6238), independently of the server.
import { createHmac } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [base, shots] = process.argv.slice(2);
if (!base || !shots) {
  console.error("usage: node portal.mjs <base-url> <screenshot-dir>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`missing environment variable ${k}`);
  return v;
};

function base32(s) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0, value = 0;
  const out = [];
  for (const c of s.replace(/=+$/, "").toUpperCase()) {
    const i = alphabet.indexOf(c);
    if (i < 0) throw new Error("bad base32");
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) { out.push((value >>> (bits - 8)) & 0xff); bits -= 8; }
  }
  return Buffer.from(out);
}

function totp(secret, unix = Math.floor(Date.now() / 1000)) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unix / 30)));
  const mac = createHmac("sha1", base32(secret)).update(counter).digest();
  const off = mac[19] & 0x0f;
  const bin = mac.readUInt32BE(off) & 0x7fffffff;
  return String(bin % 1_000_000).padStart(6, "0");
}

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

let n = 0;
async function shot(page, name) {
  n += 1;
  const file = join(shots, `${String(n).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot ${file}`);
}

// launch() always starts from a new, temporary user-data-dir (playwright refuses the flag).
const browser = await chromium.launch({
  executablePath: process.env.DAIKO_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});

// TOTP codes are single use (replays are refused): never use the same step twice for a user.
const usedSteps = new Map();
async function freshCode(secret) {
  for (;;) {
    const step = Math.floor(Date.now() / 30000);
    if (usedSteps.get(secret) !== step) {
      usedSteps.set(secret, step);
      return totp(secret);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function login(who, shotPrefix) {
  const ctx = await browser.newContext({ acceptDownloads: true, locale: "ja-JP", viewport: { width: 1280, height: 860 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(20000);
  await page.goto(`${base}/login`);
  check((await page.locator("h1").textContent()) === "ログイン", `${who}: login page in Japanese`);
  await page.fill("#login", env(`DAIKO_${who}_LOGIN`));
  await page.fill("#password", env(`DAIKO_${who}_PASSWORD`));
  if (shotPrefix) await shot(page, `${shotPrefix}-login`);
  await Promise.all([page.waitForURL(/\/login\/totp$/), page.click("main button[type=submit]")]);
  // password alone: the portal is still closed
  const probe = await ctx.request.get(`${base}/`, { maxRedirects: 0 });
  check(probe.status() === 303 || probe.status() === 302 || probe.status() === 307, `${who}: password alone gives no access`);
  await page.fill("#code", await freshCode(env(`DAIKO_${who}_TOTP`)));
  if (shotPrefix) await shot(page, `${shotPrefix}-totp`);
  await Promise.all([page.waitForURL(`${base}/`), page.click("main button[type=submit]")]);
  check((await page.locator("[data-testid=who]").textContent()) === env(`DAIKO_${who}_LOGIN`), `${who}: signed in`);
  return { ctx, page };
}

try {
  // 1. Institution: sign in, upload with progress, see the receipt.
  const inst = await login("INST", "institution");
  let page = inst.page;
  await shot(page, "institution-home");
  await page.click("nav >> text=データ提出");
  await page.waitForURL(`${base}/upload`);
  await page.setInputFiles("#file", env("DAIKO_ARCHIVE"));
  await page.click("#upload-button");
  const receipt = page.locator("[data-testid=receipt-no]");
  await receipt.waitFor();
  const receiptNo = (await receipt.textContent()).trim();
  check(/^R\d{8}-\d+$/.test(receiptNo), `receipt number shown (${receiptNo})`);
  check((await page.locator("#upload-progress").getAttribute("value")) === "100", "progress bar reached 100%");
  check((await page.locator("#upload-percent").textContent()) === "100%", "progress text 100%");
  await shot(page, "institution-upload-receipt");

  // 2. The submission's 受付結果, once the pipeline has checked it.
  await page.click("[data-testid=submission-link]");
  await page.waitForURL(/\/submissions\//);
  const deadline = Date.now() + 90000;
  while ((await page.locator("[data-testid=status]").textContent()).trim() !== "点検済") {
    if (Date.now() > deadline) throw new Error("the submission was not checked within 90 s");
    await new Promise((r) => setTimeout(r, 700));
    await page.reload();
  }
  check((await page.locator("h1").textContent()) === "受付結果", "受付結果 page");
  check((await page.locator("[data-testid=receipt-no]").textContent()) === receiptNo, "same receipt number");
  const verdict = (await page.locator("[data-testid=verdict]").textContent()).trim();
  check(["受付", "一部受付", "受付不可"].includes(verdict), `verdict in Japanese (${verdict})`);
  const findings = page.locator("[data-testid=findings] tbody tr");
  check((await findings.count()) > 0, `findings listed (${await findings.count()})`);
  const firstMessage = await page.locator("[data-testid=findings] tbody tr td:nth-child(5)").first().textContent();
  check(/[\u3040-\u30ff\u4e00-\u9fff]/.test(firstMessage), `finding message in Japanese: ${firstMessage.slice(0, 40)}`);
  check((await page.locator("[data-testid=records] tbody tr").count()) > 0, "records table");
  await shot(page, "institution-result");
  await inst.ctx.close();

  // 3. Insurer: new delivery, download, acknowledge.
  const ins = await login("INSURER");
  page = ins.page;
  const newCount = Number((await page.locator("[data-testid=new-deliveries] strong").textContent()).trim());
  check(newCount >= 1, `insurer home shows ${newCount} new deliveries`);
  await shot(page, "insurer-home");
  await page.click("nav >> text=受取データ");
  await page.waitForURL(`${base}/deliveries`);
  check((await page.locator(".badge.new").count()) >= 1, "new marker");
  await shot(page, "insurer-deliveries");
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.locator("[data-testid=deliveries] a[download]").first().click(),
  ]);
  const saved = join(shots, "delivery.zip");
  await download.saveAs(saved);
  const zip = readFileSync(saved);
  check(zip.length > 100 && zip[0] === 0x50 && zip[1] === 0x4b, `downloaded a ZIP archive (${zip.length} bytes)`);
  await Promise.all([page.waitForURL(`${base}/deliveries`), page.locator("text=受領確認 >> nth=-1").click()]);
  check((await page.locator("[data-testid=deliveries]").textContent()).includes("確認済"), "acknowledged");
  await shot(page, "insurer-acknowledged");

  // 3b. Insurer: invitations — roster upload, voucher issue, counts.
  await page.click("nav >> text=健診案内");
  await page.waitForURL(`${base}/invite`);
  await page.goto(`${base}/invite?fiscal_year=2024`);
  await page.setInputFiles("#roster-file", process.env.DAIKO_ROSTER);
  await Promise.all([page.waitForURL(`${base}/invite/roster`), page.click("form[action='/invite/roster'] button")]);
  check((await page.locator(".notice").first().textContent()).includes("名簿を登録しました"), "roster imported");
  check((await page.locator("[data-testid=targets]").textContent()).trim() === "2", "two targets in FY2024");
  await Promise.all([page.waitForURL(`${base}/invite/issue`), page.click("[data-testid=issue]")]);
  check((await page.locator("[data-testid=issued]").textContent()).trim() === "2", "two vouchers issued");
  await shot(page, "insurer-invite");

  // 4. English.
  await page.goto(`${base}/deliveries`);
  await Promise.all([page.waitForURL(`${base}/deliveries`), page.click("text=言語/Language: English")]);
  check((await page.locator("h1").textContent()) === "Deliveries", "English heading");
  check((await page.locator("nav").textContent()).includes("Home"), "English navigation");
  check((await page.locator("html").getAttribute("lang")) === "en", "html lang=en");
  await shot(page, "insurer-english");
  await ins.ctx.close();

  // 5. Auditor: search the trail and verify the chain.
  const aud = await login("AUDITOR");
  page = aud.page;
  await page.click("nav >> text=監査ログ");
  await page.waitForURL(/\/audit/);
  await page.fill("#action", "delivery.");
  await Promise.all([page.waitForURL(/action=delivery/), page.click("form[role=search] button")]);
  const actions = await page.locator("[data-testid=audit] tbody tr td:nth-child(5)").allTextContents();
  check(actions.includes("delivery.download") && actions.includes("delivery.acknowledge"), `audit search found ${actions.join(", ")}`);
  await shot(page, "auditor-search");
  await Promise.all([page.waitForURL(/verify=1/), page.click("#verify-chain")]);
  const chain = await page.locator("[data-testid=chain]").textContent();
  check(chain.includes("チェーンは正常です"), `chain verified: ${chain}`);
  await shot(page, "auditor-chain");
  await aud.ctx.close();
  console.log("all portal checks passed");
} catch (e) {
  console.error(String(e && e.stack ? e.stack : e));
  process.exitCode = 1;
} finally {
  await browser.close();
}
