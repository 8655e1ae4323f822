// An independent check of llmgw's OTLP protobuf: the export of a real traced, streamed
// request is decoded with the schema OpenTelemetry's own JavaScript exporter ships
// (@opentelemetry/otlp-transformer's protobufjs code, pinned in package-lock.json), checked
// field by field, and encoded again by protobufjs to the very same bytes (so no byte of it
// is a field the schema does not know). Started by ctest as:
// node otlp_protobuf.mjs LLMGW_BINARY FAKE_MODEL_BINARY
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { eventually, freePort, start, stopAll } from './processes.mjs';

const require = createRequire(import.meta.url);
let root;
try {
  root = require('@opentelemetry/otlp-transformer/build/src/generated/root');
} catch (error) {
  console.error('tests/sdk/node_modules is missing @opentelemetry/otlp-transformer: run ' +
                '`npm ci` in tests/sdk (scripts/test.sh does) — ' + error.message);
  process.exit(1);
}
const Request = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

const [llmgwBinary, fakeBinary] = process.argv.slice(2);
assert.ok(llmgwBinary && fakeBinary, 'usage: node otlp_protobuf.mjs LLMGW_BINARY FAKE_MODEL_BINARY');


// The collector: keeps each export's content type and body, answers 200.
const exports = [];
const collector = createServer((request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    exports.push({ path: request.url, type: request.headers['content-type'],
                   body: Buffer.concat(chunks) });
    response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  });
});
await new Promise((resolve) => collector.listen(0, '127.0.0.1', resolve));

const dir = mkdtempSync(join(tmpdir(), 'llmgw-otlp-'));
const [fakePort, port, adminPort] = [await freePort(), await freePort(), await freePort()];
const configPath = join(dir, 'llmgw.yaml');
writeFileSync(configPath, `
server: { listen: "127.0.0.1:${port}", workers: 1 }
admin: { listen: "127.0.0.1:${adminPort}" }
logging: { level: warn, access_log: "off" }
backends:
  vllm: { endpoints: [ { url: "http://127.0.0.1:${fakePort}" } ] }
routes:
  - { name: chat, backend: vllm, match: { path_prefix: /v1/ } }
tracing:
  endpoint: "http://127.0.0.1:${collector.address().port}/v1/traces"
  service_name: "otlp-check"
  flush_interval: 50ms
`);

let failed = false;
try {
  start(fakeBinary, ['--listen', `127.0.0.1:${fakePort}`, '--id', 'otlp']);
  start(llmgwBinary, ['--config', configPath]);
  await eventually(async () => (await fetch(`http://127.0.0.1:${fakePort}/health`)).ok, 10000,
                   'the fake model server');
  await eventually(async () => (await fetch(`http://127.0.0.1:${adminPort}/readyz`)).ok, 10000,
                   'llmgw to be ready');

  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const parentId = '00f067aa0ba902b7';
  const before = BigInt(Date.now()) * 1000000n;
  const answer = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${parentId}-01`,
               'x-fake-chunks': '3', 'x-fake-chunk-interval-ms': '1' },
    body: JSON.stringify({ model: 'fake-model', stream: true, max_tokens: 16,
                           messages: [{ role: 'user', content: 'h\u00e9llo' }] }),
  });
  assert.equal(answer.status, 200);
  await answer.text();
  await eventually(async () => exports.length > 0, 10000, 'an export');
  const after = BigInt(Date.now()) * 1000000n;

  const { path, type, body } = exports[0];
  assert.equal(path, '/v1/traces');
  assert.equal(type, 'application/x-protobuf');
  const decoded = Request.decode(body);  // throws on anything malformed
  assert.equal(Request.verify(decoded), null);
  assert.deepEqual(Buffer.from(Request.encode(decoded).finish()), body,
                   'protobufjs writes the decoded request back to the same bytes');

  const request = Request.toObject(decoded, { longs: String, enums: Number, bytes: String, defaults: false });
  const hex = (bytes) => Buffer.from(bytes, 'base64').toString('hex');
  const attributes = (list) => Object.fromEntries((list ?? []).map((a) => [a.key, a.value]));
  assert.equal(request.resourceSpans.length, 1);
  const [resource] = request.resourceSpans;
  assert.deepEqual(attributes(resource.resource.attributes)['service.name'],
                   { stringValue: 'otlp-check' });
  assert.equal(resource.scopeSpans[0].scope.name, 'llmgw');
  const spans = resource.scopeSpans[0].spans;
  const server = spans.find((s) => s.kind === 2);
  const client = spans.find((s) => s.kind === 3);
  assert.ok(server && client, 'a SERVER and a CLIENT span');
  for (const span of spans) {
    assert.equal(hex(span.traceId), traceId);
    assert.equal(hex(span.spanId).length, 16);
    assert.ok(BigInt(span.startTimeUnixNano) >= before - 1000000000n);
    assert.ok(BigInt(span.endTimeUnixNano) <= after + 1000000000n);
    assert.ok(BigInt(span.startTimeUnixNano) <= BigInt(span.endTimeUnixNano));
  }
  assert.equal(hex(server.parentSpanId), parentId);
  assert.equal(hex(client.parentSpanId), hex(server.spanId));
  assert.equal(server.name, 'POST chat');
  const serverAttributes = attributes(server.attributes);
  assert.deepEqual(serverAttributes['http.request.method'], { stringValue: 'POST' });
  assert.deepEqual(serverAttributes['http.response.status_code'], { intValue: '200' });
  assert.equal(client.name, 'chat fake-model');
  const clientAttributes = attributes(client.attributes);
  assert.deepEqual(clientAttributes['server.port'], { intValue: String(fakePort) });
  assert.deepEqual(clientAttributes['gen_ai.request.model'], { stringValue: 'fake-model' });
  assert.deepEqual(clientAttributes['gen_ai.request.max_tokens'], { intValue: '16' });
  assert.deepEqual(clientAttributes['gen_ai.request.stream'], { boolValue: true });
  assert.equal(clientAttributes['gen_ai.response.finish_reasons'].arrayValue.values[0].stringValue,
               'stop');
  const [event] = client.events;
  assert.equal(event.name, 'llmgw.first_token');
  assert.ok(BigInt(event.timeUnixNano) >= BigInt(client.startTimeUnixNano));
  assert.ok(BigInt(event.timeUnixNano) <= BigInt(client.endTimeUnixNano));
  console.log(`ok - ${spans.length} spans of ${body.length} bytes decoded by protobufjs`);
} catch (error) {
  failed = true;
  console.log(`not ok - ${String(error.stack ?? error).split('\n').join('\n  ')}`);
} finally {
  stopAll();
  collector.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
