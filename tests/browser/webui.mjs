// The web chat page in a real headless browser (Debian's chromium driven by
// puppeteer-core, installed by tools/setup into build/node), against real servers on
// stories260K started by tests/net_e2e/e2e_webui_test.cpp:
//   WEBUI_PLAIN_URL  no chat template: text-completion mode, with the reason shown
//   WEBUI_CHAT_URL   the Qwen2.5 template, tokens paced so a reply can be stopped
//   WEBUI_KEY_URL    --api-key sekret: the page asks for the key
//   WEBUI_OFF_URL    --no-webui: `/` is a 404
//   WEBUI_LOADING_URL the model still loading (503 from the API) until the page has asked
//                    for /props three times; the page is served meanwhile
// Screenshots go to WEBUI_ARTIFACTS. Prints "ok" last; exits non-zero on any failure.
import {createRequire} from 'node:module';
import path from 'node:path';
import fs from 'node:fs';
import assert from 'node:assert/strict';

const require = createRequire(path.join(path.resolve(process.env.ACTORLM_NODE_PREFIX), 'index.js'));
const puppeteer = require('puppeteer-core');
const env = (name) => {
    assert.ok(process.env[name], `${name} is not set`);
    return process.env[name];
};
const plain_url = env('WEBUI_PLAIN_URL');
const chat_url = env('WEBUI_CHAT_URL');
const key_url = env('WEBUI_KEY_URL');
const off_url = env('WEBUI_OFF_URL');
const loading_url = env('WEBUI_LOADING_URL');
const artifacts = env('WEBUI_ARTIFACTS');
fs.mkdirSync(artifacts, {recursive: true});

const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // --no-sandbox: the tests may run as root (CI containers), where the sandbox refuses.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const page_errors = [];

// `expected_errors`: the console errors the scenario causes on purpose (the browser logs
// every failed fetch).
async function open(url, expected_errors = /401|Unauthorized/) {
    const page = await browser.newPage();
    await page.setViewport({width: 1200, height: 800});
    page.on('pageerror', (e) => page_errors.push(`${url}: ${e.message}`));
    page.on('console', (m) => {
        if (m.type() === 'error' && !expected_errors.test(m.text())) page_errors.push(`${url}: ${m.text()}`);
    });
    const response = await page.goto(url + '/', {waitUntil: 'load'});
    assert.equal(response.status(), 200);
    return page;
}

async function shot(page, name) {
    await page.screenshot({path: path.join(artifacts, name + '.png'), fullPage: true});
}

async function set_field(page, id, value) {
    await page.$eval('#' + id, (el, v) => {
        el.value = v;
        el.dispatchEvent(new Event('change'));
    }, String(value));
}

async function send(page, text) {
    await page.$eval('#prompt', (el, v) => { el.value = v; }, text);
    await page.click('#send');
}

const last_reply = (page) =>
    page.$eval('#messages .msg.assistant:last-child .content', (el) => el.textContent);

// Waits until the last reply has its statistics line (the stream ended) and returns it.
async function reply_stats(page, timeout = 20000) {
    await page.waitForSelector('#messages .msg.assistant:last-child .stats', {timeout});
    return page.$eval('#messages .msg.assistant:last-child .stats', (el) => el.textContent);
}

async function abort_count(url) {
    const text = await (await fetch(url + '/metrics')).text();
    const line = text.split('\n').find((l) => l.startsWith('vllm:request_success_total{finished_reason="abort"'));
    assert.ok(line, 'no abort counter in /metrics');
    return Number(line.split(' ').at(-1));
}

// 1. No chat template: the page says so and completes text instead.
{
    const page = await open(plain_url);
    await page.waitForSelector('#mode-banner:not([hidden])');
    const banner = await page.$eval('#mode-banner', (el) => el.textContent);
    assert.match(banner, /Text-completion mode/);
    assert.match(banner, /no chat template/);
    await set_field(page, 'max-tokens', 40);
    await send(page, 'Once upon a time');
    const stats = await reply_stats(page);
    assert.match(stats, /^TTFT \d+ ms · \d+ tokens · [\d.]+ tokens\/s · (stop|length)$/, stats);
    assert.ok((await last_reply(page)).length > 0, 'empty continuation');
    assert.equal(await page.$eval('#messages .msg.user .role', (el) => el.textContent), 'prompt');
    await shot(page, 'completion-mode');
    await page.close();
}

// 2. A chat model: tokens stream in, Stop aborts the request on the server.
{
    const page = await open(chat_url);
    await page.waitForFunction(() => document.querySelector('#model').options.length > 0);
    assert.equal(await page.$eval('#mode-banner', (el) => el.hidden), true);
    assert.equal(await page.$eval('#model', (el) => el.value), 'stories');
    const aborts_before = await abort_count(chat_url);
    await set_field(page, 'max-tokens', 300);
    await send(page, 'Tell me a story.');
    await page.waitForFunction(() => {
        const el = document.querySelector('#messages .msg.assistant:last-child .content');
        return el && el.textContent.length > 0;
    }, {timeout: 15000});
    const early = (await last_reply(page)).length;
    await page.waitForFunction((n) =>
        document.querySelector('#messages .msg.assistant:last-child .content').textContent.length > n,
        {timeout: 15000}, early);
    assert.equal(await page.$eval('#stop', (el) => el.hidden), false, 'no Stop button while streaming');
    await shot(page, 'chat-streaming');
    await page.click('#stop');
    const stats = await reply_stats(page, 5000);
    assert.match(stats, /stopped$/, stats);
    assert.equal(await page.$eval('#send', (el) => el.hidden), false);
    // The client hung up; the server must have aborted the request.
    let aborts = aborts_before;
    for (let i = 0; i < 50 && aborts === aborts_before; ++i) {
        await new Promise((r) => setTimeout(r, 100));
        aborts = await abort_count(chat_url);
    }
    assert.equal(aborts, aborts_before + 1, 'the stop did not reach the server as an abort');
    await shot(page, 'chat-stopped');

    // 3. Model output is text, never markup: a crafted stream through the real rendering
    //    path (request interception answers the chat request), split mid-tag.
    await set_field(page, 'system-prompt', 'Be brief.');
    await set_field(page, 'seed', 7);
    const pieces = [
        'Look: <scr', 'ipt>window.__pwned = 1</script> and <img src=x onerror="window.__pwned = 2">',
        '\n\n```js\nconst x = "<b>"; // <i>c</i>\n```\n\n',
        '**bold** [bad](javascript:window.__pwned=3) [ok](https://example.com/a)',
        '\n\n## Steps\n- one `<u>`\n- two\n\n1. first\n2. second\n',
    ];
    const crafted = [
        {choices: [{index: 0, delta: {role: 'assistant', content: ''}}]},
        {choices: [{index: 0, delta: {reasoning_content: 'hmm <script>window.__pwned = 4</script>'}}]},
        ...pieces.map((p) => ({choices: [{index: 0, delta: {content: p}}]})),
        {choices: [{index: 0, delta: {}, finish_reason: 'stop'}]},
        {choices: [], usage: {prompt_tokens: 5, completion_tokens: 9, total_tokens: 14}},
    ];
    const sent = [];
    await page.setRequestInterception(true);
    page.on('request', (request) => {
        if (!request.url().endsWith('/v1/chat/completions')) return request.continue();
        sent.push(JSON.parse(request.postData()));
        request.respond({
            status: 200,
            contentType: 'text/event-stream',
            body: crafted.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('') + 'data: [DONE]\n\n',
        });
    });
    await page.click('#new-chat');
    await send(page, 'Show me some HTML.');
    assert.match(await reply_stats(page), /9 tokens/);
    const dom = await page.$eval('#messages', (el) => ({
        pwned: window.__pwned,
        scripts: el.querySelectorAll('script').length,
        images: el.querySelectorAll('img').length,
        links: [...el.querySelectorAll('a')].map((a) => a.getAttribute('href')),
        text: el.querySelector('.msg.assistant .content').textContent,
        keywords: [...el.querySelectorAll('.code-block .tok-kw')].map((s) => s.textContent),
        comments: [...el.querySelectorAll('.code-block .tok-com')].map((s) => s.textContent),
        strong: el.querySelector('.msg.assistant strong')?.textContent,
        heading: el.querySelector('.msg.assistant h4')?.textContent,
        bullets: [...el.querySelectorAll('.msg.assistant ul > li')].map((li) => li.textContent),
        numbered: [...el.querySelectorAll('.msg.assistant ol > li')].map((li) => li.textContent),
        inline_code: el.querySelector('.msg.assistant li code')?.textContent,
        reasoning_open: el.querySelector('details.reasoning')?.open,
        reasoning: el.querySelector('details.reasoning div')?.textContent,
    }));
    assert.equal(dom.pwned, undefined);
    assert.equal(dom.scripts, 0);
    assert.equal(dom.images, 0);
    assert.deepEqual(dom.links, ['https://example.com/a']);
    assert.ok(dom.text.includes('<script>window.__pwned = 1</script>'), dom.text);
    assert.ok(dom.text.includes('<img src=x onerror="window.__pwned = 2">'), dom.text);
    assert.ok(dom.text.includes('[bad](javascript:window.__pwned=3)'), dom.text);
    assert.deepEqual(dom.keywords, ['const']);
    assert.deepEqual(dom.comments, ['// <i>c</i>']);
    assert.equal(dom.strong, 'bold');
    assert.equal(dom.heading, 'Steps');
    assert.deepEqual(dom.bullets, ['one <u>', 'two']);
    assert.deepEqual(dom.numbered, ['first', 'second']);
    assert.equal(dom.inline_code, '<u>');
    assert.equal(dom.reasoning_open, false, 'reasoning is not folded');
    assert.equal(dom.reasoning, 'hmm <script>window.__pwned = 4</script>');
    await shot(page, 'injection-as-text');
    // The request carried the settings and the system prompt.
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0].messages[0], {role: 'system', content: 'Be brief.'});
    assert.equal(sent[0].seed, 7);
    assert.equal(sent[0].max_tokens, 300);
    assert.equal(sent[0].stream, true);

    // 4. Regenerate resends the same history; Edit resends the edited message.
    await page.click('#messages .msg.assistant:last-child header button');
    await reply_stats(page);
    assert.equal(sent.length, 2);
    assert.deepEqual(sent[1].messages, sent[0].messages);
    await page.click('#messages .msg.user header button');
    await page.$eval('#messages .msg.user textarea.editor', (el) => { el.value = 'Edited.'; });
    await page.evaluate(() => [...document.querySelectorAll('#messages .msg.user button')]
        .find((b) => b.textContent === 'Save and resend').click());
    await reply_stats(page);
    assert.equal(sent.length, 3);
    assert.equal(sent[2].messages.at(-1).content, 'Edited.');
    assert.equal(await page.$$eval('#messages .msg', (els) => els.length), 2);

    // 5. Conversations survive a reload (localStorage).
    await page.setRequestInterception(false);
    page.removeAllListeners('request');
    await page.reload({waitUntil: 'load'});
    await page.waitForSelector('#messages .msg.assistant');
    assert.equal(await page.$$eval('#conversations li', (els) => els.length), 2);
    assert.equal(await page.$eval('#messages .msg.user .content', (el) => el.textContent), 'Edited.');

    // 6. Export writes every conversation as JSON; importing that file adds them again.
    const downloads = path.join(artifacts, 'downloads');
    fs.rmSync(downloads, {recursive: true, force: true});
    const cdp = await page.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', {behavior: 'allow', downloadPath: downloads});
    await page.click('#export');
    const exported = path.join(downloads, 'actorlm-conversations.json');
    for (let i = 0; i < 50 && !fs.existsSync(exported); ++i) await new Promise((r) => setTimeout(r, 100));
    const saved = JSON.parse(fs.readFileSync(exported, 'utf8'));
    assert.equal(saved.conversations.length, 2);
    assert.ok(saved.conversations.some((c) => c.messages.some((m) => m.content.includes('<script>'))));
    const input = await page.$('#import');
    await input.uploadFile(exported);
    await page.waitForFunction(() => document.querySelectorAll('#conversations li').length === 4);
    assert.equal(await page.$eval('#messages', (el) => el.querySelectorAll('script, img').length), 0);
    await page.close();
}

// 7. A vision model (its /props answer says so here): the Image button attaches a file,
//    shown in the message and sent as an image_url part.
{
    const page = await browser.newPage();
    await page.setViewport({width: 1200, height: 800});
    page.on('pageerror', (e) => page_errors.push(`vision: ${e.message}`));
    const sent = [];
    await page.setRequestInterception(true);
    page.on('request', async (request) => {
        if (request.url().endsWith('/props')) {
            const props = await (await fetch(request.url())).json();
            props.modalities.vision = true;
            return request.respond({status: 200, contentType: 'application/json', body: JSON.stringify(props)});
        }
        if (!request.url().endsWith('/v1/chat/completions')) return request.continue();
        sent.push(JSON.parse(request.postData()));
        request.respond({status: 200, contentType: 'text/event-stream',
                         body: 'data: {"choices":[{"index":0,"delta":{"content":"A red dot."}}]}\n\ndata: [DONE]\n\n'});
    });
    await page.goto(chat_url + '/', {waitUntil: 'load'});
    await page.waitForSelector('#attach-label:not([hidden])');
    // A 1x1 red PNG.
    const png = path.join(artifacts, 'dot.png');
    fs.writeFileSync(png, Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64'));
    await (await page.$('#attach')).uploadFile(png);
    await page.waitForSelector('#attachments img');
    await send(page, 'What is this?');
    await reply_stats(page);
    const parts = sent[0].messages.at(-1).content;
    assert.equal(parts[0].text, 'What is this?');
    assert.equal(parts[1].type, 'image_url');
    assert.match(parts[1].image_url.url, /^data:image\/png;base64,iVBOR/);
    assert.equal(await page.$$eval('#messages .msg.user img.attachment', (els) => els.length), 1);
    await shot(page, 'vision-attachment');
    await page.close();
}

// 8. --api-key: the page asks for the key, says when it is wrong, then works with it.
{
    const page = await open(key_url);
    await page.waitForSelector('#api-key-dialog[open]');
    await shot(page, 'api-key-prompt');
    await page.type('#api-key-input', 'wrong');
    await page.click('#api-key-save');
    await page.waitForSelector('#api-key-error:not([hidden])');
    await page.type('#api-key-input', 'sekret');
    await page.click('#api-key-save');
    await page.waitForFunction(() => document.querySelector('#model').options.length > 0);
    assert.equal(await page.$eval('#api-key-dialog', (el) => el.open), false);
    await set_field(page, 'max-tokens', 16);
    await send(page, 'Once upon a time');
    assert.match(await reply_stats(page), /^TTFT/);
    await page.close();
}

// 9. --no-webui: no page, the API's JSON 404.
{
    const response = await fetch(off_url + '/');
    assert.equal(response.status, 404);
    assert.ok((await response.json()).error, 'no error object');
}

// 10. Opened while the model loads: the page is there, says how far the load has come,
// and connects by itself once the model is ready.
{
    const page = await open(loading_url, /503|Service Unavailable/);
    await page.waitForFunction(() => {
        const banner = document.querySelector('#loading-banner');
        return !banner.hidden && banner.textContent.startsWith('Loading model');
    }, {timeout: 10000});
    await shot(page, 'loading');
    assert.equal(await page.$eval('#error-banner', (el) => el.hidden), true);
    await page.waitForFunction(() => document.querySelector('#model').options.length > 0,
                               {timeout: 20000});
    assert.equal(await page.$eval('#loading-banner', (el) => el.hidden), true);
    await set_field(page, 'max-tokens', 8);
    await send(page, 'Once upon a time');
    assert.match(await reply_stats(page), /^TTFT/);
    await page.close();
}

await browser.close();
assert.deepEqual(page_errors, []);
console.log('ok');
