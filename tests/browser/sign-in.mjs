// Signs in on the local tenant's sign-in page in headless Debian chromium, as a person would: opens the
// authorization URL (argv[2]), types DIRSYNC_SIGNIN_USER and DIRSYNC_SIGNIN_PASSWORD, presses Accept (or
// Cancel with DIRSYNC_SIGNIN_ACTION=cancel) and waits until the browser has reached the app's loopback
// redirect URI and got its answer. Exit 0 then; 1 with the reason on stderr otherwise (never the password).
// As Python's BROWSER (MSAL's acquire_token_interactive opens the URL with webbrowser), end the command with
// " %s &" so webbrowser starts it in the background and MSAL's loopback listener can answer the redirect:
//   BROWSER="node tests/browser/sign-in.mjs %s &"
import { chromium } from 'playwright-core';

const url = process.argv[2];
const user = process.env.DIRSYNC_SIGNIN_USER;
const password = process.env.DIRSYNC_SIGNIN_PASSWORD;
const action = process.env.DIRSYNC_SIGNIN_ACTION || 'accept';
const timeout = Number(process.env.DIRSYNC_SIGNIN_TIMEOUT_MS || 30000);

function fail(message) {
  process.stderr.write(`sign-in.mjs: ${message}\n`);
  process.exit(1);
}
if (!url || !user || !password) fail('usage: DIRSYNC_SIGNIN_USER=... DIRSYNC_SIGNIN_PASSWORD=... node sign-in.mjs URL');
if (!['accept', 'cancel'].includes(action)) fail(`DIRSYNC_SIGNIN_ACTION must be accept or cancel, not ${action}`);
const page_url = new URL(url);
if (!['127.0.0.1', 'localhost', '[::1]'].includes(page_url.hostname)) {
  // The certificate check is off below; that is only acceptable for the loopback test tenant.
  fail(`refusing to sign in on ${page_url.host}: only the local tenant on loopback`);
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
                                        args: ['--no-sandbox'] });
try {
  // The local tenant's CA is not in chromium's trust store.
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  await page.goto(url);
  const error = page.locator('#error');
  if (await error.count()) throw new Error(`the sign-in page refused the request: ${await error.innerText()}`);
  await page.fill('input[name=login]', user);
  await page.fill('input[name=passwd]', password);
  const loopback = (u) => ['localhost', '127.0.0.1'].includes(new URL(u).hostname) && u.startsWith('http:');
  const reached = page.waitForResponse((r) => loopback(r.url()));
  await page.click(`button[value=${action}]`);
  const refused = page.waitForSelector('#error').then(async (e) => {
    throw new Error(`the sign-in page says: ${await e.innerText()}`);
  });
  const unanswered = page.waitForEvent('requestfailed', (r) => loopback(r.url())).then((r) => {
    throw new Error(`nothing answered at the redirect URI (${r.failure()?.errorText}); is the app listening?`);
  });
  const outcomes = [reached, refused, unanswered];
  for (const pending of outcomes) pending.catch(() => {});  // the losers fail when the browser closes
  const answer = await Promise.race(outcomes);
  process.stdout.write(`sign-in.mjs: reached the redirect URI (HTTP ${answer.status()})\n`);
} catch (err) {
  // URLs in the message can carry the authorization code: their query strings are left out.
  process.stderr.write(`sign-in.mjs: ${err.message.split('\n')[0].replace(/(https?:\/\/[^\s'"?]*)\?[^\s'"]*/g, '$1?...')}\n`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
