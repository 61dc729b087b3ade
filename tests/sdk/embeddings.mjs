// Embeddings through the official OpenAI JS SDK (openai@4, installed by tools/setup into
// build/node) against a running `actorlm serve` on stories260K: embeddings.create with
// the SDK's default (it asks for base64 and decodes the float32 bytes itself) and with
// encoding_format "float" must both give ACTORLM_EXPECTED, the vector the C++ test read
// from /v1/embeddings for the same input. Run by tests/net_e2e/e2e_embeddings_test.cpp;
// exits non-zero with a message on any mismatch.
//   ACTORLM_BASE_URL=http://127.0.0.1:PORT/v1 ACTORLM_NODE_PREFIX=build/node \
//   ACTORLM_INPUT='Once upon a time' ACTORLM_EXPECTED='[0.1,...]' node embeddings.mjs
import { createRequire } from 'node:module';
import path from 'node:path';
import assert from 'node:assert/strict';

const require = createRequire(path.join(path.resolve(process.env.ACTORLM_NODE_PREFIX), 'index.js'));
const OpenAI = require('openai');
const client = new OpenAI({ baseURL: process.env.ACTORLM_BASE_URL, apiKey: 'unused' });
const input = process.env.ACTORLM_INPUT;
const expected = JSON.parse(process.env.ACTORLM_EXPECTED);

// Float32 values written with 9 significant digits read back exactly.
const asFloat32 = (v) => Array.from(Float32Array.from(v));

const byDefault = await client.embeddings.create({ model: 'stories', input: [input, input] });
assert.equal(byDefault.object, 'list');
assert.equal(byDefault.data.length, 2);
assert.deepEqual(byDefault.data.map((d) => d.index), [0, 1]);
assert.deepEqual(asFloat32(byDefault.data[0].embedding), asFloat32(expected));
assert.deepEqual(asFloat32(byDefault.data[1].embedding), asFloat32(expected));
assert.ok(byDefault.usage.prompt_tokens > 0);
assert.equal(byDefault.usage.total_tokens, byDefault.usage.prompt_tokens);
console.log('default (base64):', byDefault.data[0].embedding.length, 'values');

const asFloats = await client.embeddings.create({ model: 'stories', input, encoding_format: 'float' });
assert.deepEqual(asFloat32(asFloats.data[0].embedding), asFloat32(expected));
console.log('float:', asFloats.data[0].embedding.slice(0, 3));

const truncated = await client.embeddings.create({ model: 'stories', input, dimensions: 8 });
assert.equal(truncated.data[0].embedding.length, 8);
const norm = Math.hypot(...truncated.data[0].embedding);
assert.ok(Math.abs(norm - 1) < 1e-5, `norm ${norm}`);

await assert.rejects(client.embeddings.create({ model: 'stories', input, dimensions: 100000 }),
  (e) => e.status === 400 && e.param === 'dimensions');
console.log('ok');
