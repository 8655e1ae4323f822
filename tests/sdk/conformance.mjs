// The official `openai` npm package against a real llmgw in front of the fake model server:
// what an application using the SDK sees (answers, streams, usage, typed errors, retries,
// cancelled streams). Started by ctest as: node conformance.mjs LLMGW_BINARY FAKE_MODEL_BINARY
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { eventually, freePort, start, stopAll } from './processes.mjs';

let OpenAI;
try {
  ({ default: OpenAI } = await import('openai'));
} catch (error) {
  console.error('tests/sdk/node_modules is missing the openai package: run `npm ci` in tests/sdk ' +
                '(scripts/test.sh does) — ' + error.message);
  process.exit(1);
}

const [llmgwBinary, fakeBinary] = process.argv.slice(2);
assert.ok(llmgwBinary && fakeBinary, 'usage: node conformance.mjs LLMGW_BINARY FAKE_MODEL_BINARY');

const KEY = 'sk-sdk-conformance-key';
const LIMITED_KEY = 'sk-sdk-limited-key';
const sha256 = (text) => createHash('sha256').update(text).digest('hex');


const dir = mkdtempSync(join(tmpdir(), 'llmgw-sdk-'));
const fakePort = await freePort();
const port = await freePort();
const adminPort = await freePort();
const fakeUrl = `http://127.0.0.1:${fakePort}`;
const adminUrl = `http://127.0.0.1:${adminPort}`;

const config = `
server: { listen: "127.0.0.1:${port}", workers: 1 }
admin: { listen: "127.0.0.1:${adminPort}" }
logging: { level: warn, access_log: "off" }
tiers:
  pro: {}
  limited: { rate: { requests_per_second: 1 } }
consumers:
  - { name: app, tier: pro, keys: [ { sha256: "${sha256(KEY)}" } ] }
  - { name: limited, tier: limited, keys: [ { sha256: "${sha256(LIMITED_KEY)}" } ] }
backends:
  vllm: { endpoints: [ { url: "${fakeUrl}" } ] }
routes:
  - { name: llama, backend: vllm, match: { path_prefix: /v1/, model: llama-3-8b },
      rewrite: { model: fake-model } }
  - { name: models, backend: vllm, match: { path_prefix: /v1/models }, models: gateway }
  - { name: v1, backend: vllm, match: { path_prefix: /v1/ } }
`;
const configPath = join(dir, 'llmgw.yaml');
writeFileSync(configPath, config);

const fake = start(fakeBinary, ['--listen', `127.0.0.1:${fakePort}`, '--id', 'sdk']);
const gateway = start(llmgwBinary, ['--config', configPath]);
await eventually(async () => (await fetch(`${fakeUrl}/health`)).ok, 10000, 'the fake model server');
await eventually(async () => (await fetch(`${adminUrl}/readyz`)).ok, 10000, 'llmgw to be ready');

const client = new OpenAI({ apiKey: KEY, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
const fakeStats = async () => (await fetch(`${fakeUrl}/fake/stats`)).json();
const gatewayInFlight = async () => {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  return Number(/^llmgw_requests_in_flight (\S+)$/m.exec(text)[1]);
};

const tests = [];
const test = (name, body) => tests.push({ name, body });

test('chat completion', async () => {
  const answer = await client.chat.completions.create({
    model: 'llama-3-8b', messages: [{ role: 'user', content: 'hi' }] },
    { headers: { 'x-fake-chunks': '4' } });
  assert.equal(answer.object, 'chat.completion');
  assert.equal(answer.choices[0].message.content.split(' ').length, 4);
  assert.equal(answer.usage.completion_tokens, 4);
});

test('streamed chat with usage', async () => {
  const stream = await client.chat.completions.create({
    model: 'llama-3-8b', messages: [{ role: 'user', content: 'hi' }], stream: true,
    stream_options: { include_usage: true } },
    { headers: { 'x-fake-chunks': '5', 'x-fake-chunk-interval-ms': '1' } });
  let text = '';
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.choices.length > 0) text += chunk.choices[0].delta.content ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(text.split(' ').length, 5);
  assert.ok(usage, 'the usage chunk the client asked for reaches it');
  assert.equal(usage.completion_tokens, 5);
});

test('streamed chat without usage hides the chunk the gateway asked for', async () => {
  const stream = await client.chat.completions.create({
    model: 'llama-3-8b', messages: [{ role: 'user', content: 'hi' }], stream: true },
    { headers: { 'x-fake-chunks': '3', 'x-fake-chunk-interval-ms': '1' } });
  for await (const chunk of stream) assert.equal(chunk.usage ?? null, null);
});

test('completion', async () => {
  const answer = await client.completions.create(
    { model: 'llama-3-8b', prompt: 'Say hello' }, { headers: { 'x-fake-chunks': '2' } });
  assert.equal(answer.object, 'text_completion');
  assert.equal(answer.usage.completion_tokens, 2);
});

test('embeddings (the SDK asks for base64 and decodes it)', async () => {
  const answer = await client.embeddings.create({ model: 'llama-3-8b', input: ['a', 'b'] });
  assert.equal(answer.data.length, 2);
  assert.deepEqual(answer.data[0].embedding, [0.5, -0.25, 0.125, 1]);
  assert.ok(answer.usage.prompt_tokens > 0);
});

test('responses, whole and streamed', async () => {
  const answer = await client.responses.create(
    { model: 'llama-3-8b', input: 'hi' }, { headers: { 'x-fake-chunks': '3' } });
  assert.equal(answer.output_text, 'tok0 tok1 tok2');
  assert.equal(answer.usage.output_tokens, 3);
  const stream = await client.responses.create(
    { model: 'llama-3-8b', input: 'hi', stream: true },
    { headers: { 'x-fake-chunks': '3', 'x-fake-chunk-interval-ms': '1' } });
  let completed = null;
  for await (const event of stream) if (event.type === 'response.completed') completed = event;
  assert.ok(completed, 'the response.completed event arrives');
  assert.equal(completed.response.usage.output_tokens, 3);
});

test('models.list is answered by the gateway', async () => {
  const list = async () => {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    return ids.sort();
  };
  // The backend's own list is fetched in the background, once at start.
  await eventually(async () => (await list()).includes('fake-model'), 5000, 'the backend list');
  assert.deepEqual(await list(), ['fake-model', 'llama-3-8b']);
});

test('a bad key is an AuthenticationError', async () => {
  const bad = new OpenAI({ apiKey: 'sk-wrong', baseURL: client.baseURL, maxRetries: 0 });
  await assert.rejects(
    bad.chat.completions.create({ model: 'llama-3-8b', messages: [{ role: 'user', content: 'x' }] }),
    (error) => error instanceof OpenAI.AuthenticationError && error.status === 401);
});

test('a rate limit is a RateLimitError, and the SDK retries after Retry-After', async () => {
  const options = { apiKey: LIMITED_KEY, baseURL: client.baseURL };
  const noRetry = new OpenAI({ ...options, maxRetries: 0 });
  const ask = (sdk) => sdk.completions.create({ model: 'llama-3-8b', prompt: 'x' });
  await ask(noRetry);
  let retryAfter = 0;
  await assert.rejects(ask(noRetry), (error) => {
    retryAfter = Number(error.headers?.get('retry-after'));
    return error instanceof OpenAI.RateLimitError && error.status === 429 &&
           error.error?.code === 'rate_limit_exceeded';
  });
  assert.ok(retryAfter >= 1, 'Retry-After is set');
  const before = (await fakeStats()).requests_total;
  const started = Date.now();
  const answer = await ask(new OpenAI({ ...options, maxRetries: 2 }));
  const waited = Date.now() - started;
  assert.equal(answer.object, 'text_completion');
  // The SDK waited as told: a retry sooner would have been refused again.
  assert.ok(waited >= retryAfter * 1000 - 300, `the SDK waited ${waited} ms`);
  console.log(`  # Retry-After: ${retryAfter} s; the SDK's retried call took ${waited} ms`);
  assert.equal((await fakeStats()).requests_total, before + 1);
});

test('a cancelled stream frees the upstream', async () => {
  const stream = await client.chat.completions.create({
    model: 'llama-3-8b', messages: [{ role: 'user', content: 'hi' }], stream: true },
    { headers: { 'x-fake-chunks': '1000', 'x-fake-chunk-interval-ms': '20' } });
  let seen = 0;
  for await (const chunk of stream) {
    if (++seen === 3) break;  // leaving the loop aborts the request
  }
  assert.equal(seen, 3);
  await eventually(async () => (await fakeStats()).in_flight === 0, 5000,
                   'the fake model server to see the hang-up');
  await eventually(async () => (await gatewayInFlight()) === 0, 5000,
                   'the gateway to count no request in flight');
  assert.ok((await fakeStats()).hang_ups_seen >= 1);
});

let failed = 0;
try {
  for (const { name, body } of tests) {
    try {
      await body();
      console.log(`ok - ${name}`);
    } catch (error) {
      failed += 1;
      console.log(`not ok - ${name}\n  ${String(error.stack ?? error).split('\n').join('\n  ')}`);
    }
  }
} finally {
  stopAll();
  rmSync(dir, { recursive: true, force: true });
}
console.log(failed === 0 ? `all ${tests.length} passed` : `${failed} of ${tests.length} failed`);
process.exit(failed === 0 ? 0 : 1);
