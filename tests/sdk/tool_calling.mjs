// Tool calling through the official OpenAI JS SDK (openai@4, installed by tools/setup
// into build/node) against a running `actorlm serve` on stories260K. That model writes
// noise, so the calls are forced (a named function, tool_choice "required"): the
// structured-output engine then makes every call parse. Run by
// tests/net_e2e/e2e_sdk_tools_test.cpp; exits non-zero with a message on any mismatch.
//   ACTORLM_BASE_URL=http://127.0.0.1:PORT/v1 ACTORLM_NODE_PREFIX=build/node node tool_calling.mjs
import { createRequire } from 'node:module';
import path from 'node:path';
import assert from 'node:assert/strict';

const require = createRequire(path.join(path.resolve(process.env.ACTORLM_NODE_PREFIX), 'index.js'));
const OpenAI = require('openai');
const client = new OpenAI({ baseURL: process.env.ACTORLM_BASE_URL, apiKey: 'unused' });
const model = 'stories';

const weatherParameters = {
  type: 'object',
  properties: { city: { type: 'string', maxLength: 8 } },
  required: ['city'],
  additionalProperties: false,
};
const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather of a city', parameters: weatherParameters } },
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {}, additionalProperties: false } } },
];
const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
const common = { model, messages, tools, max_tokens: 200, temperature: 0.8, seed: 7 };

function checkCall(call, names) {
  assert.equal(call.type, 'function');
  assert.ok(call.id.startsWith('chatcmpl-tool-'), `call id ${call.id}`);
  assert.ok(names.includes(call.function.name), `call name ${call.function.name}`);
  const args = JSON.parse(call.function.arguments);
  assert.equal(typeof args, 'object');
  if (call.function.name === 'get_weather') assert.equal(typeof args.city, 'string');
  return args;
}

// 1. A named function: the output is that function's arguments.
const named = await client.chat.completions.create({
  ...common,
  tool_choice: { type: 'function', function: { name: 'get_weather' } },
});
const namedChoice = named.choices[0];
assert.equal(namedChoice.finish_reason, 'stop');
assert.equal(namedChoice.message.tool_calls.length, 1);
checkCall(namedChoice.message.tool_calls[0], ['get_weather']);
console.log('named:', namedChoice.message.tool_calls[0].function.arguments);

// 2. "required" with parallel_tool_calls false: exactly one call of one of the tools.
const required = await client.chat.completions.create({ ...common, tool_choice: 'required', parallel_tool_calls: false });
assert.equal(required.choices[0].finish_reason, 'tool_calls');
assert.equal(required.choices[0].message.tool_calls.length, 1);
checkCall(required.choices[0].message.tool_calls[0], ['get_weather', 'get_time']);
console.log('required:', JSON.stringify(required.choices[0].message.tool_calls[0].function));

// 3. The history: the assistant's call and the tool's answer rendered by the template.
const followUp = await client.chat.completions.create({
  ...common,
  messages: [
    ...messages,
    namedChoice.message,
    { role: 'tool', tool_call_id: namedChoice.message.tool_calls[0].id, content: '{"sky": "clear"}' },
  ],
  tool_choice: 'required',
  parallel_tool_calls: false,
});
checkCall(followUp.choices[0].message.tool_calls[0], ['get_weather', 'get_time']);

// 4. The streaming helper assembles the streamed deltas into the same message shape.
const stream = client.beta.chat.completions.stream({ ...common, tool_choice: 'required', parallel_tool_calls: false });
let argumentEvents = 0;
stream.on('tool_calls.function.arguments.delta', () => { argumentEvents += 1; });
const streamed = await stream.finalChatCompletion();
const streamedCalls = streamed.choices[0].message.tool_calls;
assert.equal(streamedCalls.length, 1);
assert.ok(argumentEvents >= 1);
for (const call of streamedCalls) checkCall(call, ['get_weather', 'get_time']);
assert.equal(streamed.choices[0].finish_reason, 'tool_calls');
console.log('streamed:', streamedCalls.length, 'call(s),', argumentEvents, 'argument deltas');

// 5. runTools: the SDK parses the forced call's arguments and runs our function.
let ranWith = null;
const runner = client.beta.chat.completions.runTools({
  ...common,
  tool_choice: { type: 'function', function: { name: 'get_weather' } },
  tools: [{
    type: 'function',
    function: {
      name: 'get_weather',
      parameters: weatherParameters,
      parse: JSON.parse,
      function: (args) => { ranWith = args; return { sky: 'clear' }; },
    },
  }],
});
await runner.done();
assert.ok(ranWith && typeof ranWith.city === 'string', 'runTools called get_weather with a city');
console.log('runTools ran get_weather with', JSON.stringify(ranWith));

// 6. "auto" on a model that writes no call: plain content, no tool_calls.
const auto = await client.chat.completions.create({ ...common, tool_choice: 'auto', max_tokens: 8 });
assert.equal(typeof auto.choices[0].message.content, 'string');
assert.equal((auto.choices[0].message.tool_calls ?? []).length, 0);

// 7. A named function that is not a tool: the SDK surfaces the server's 400.
await assert.rejects(
  client.chat.completions.create({ ...common, tool_choice: { type: 'function', function: { name: 'nope' } } }),
  (err) => err.status === 400 && /does not match/.test(err.message),
);
console.log('ok');
