// app.js: the chat page's state and UI. Conversations and settings live in the
// browser's localStorage; a turn streams from /v1/chat/completions, or from
// /v1/completions when the model has no chat template (text-completion mode, with the
// reason shown). One generation at a time; Stop aborts its fetch, and the server aborts
// the request when the connection closes. Model output is rendered by markdown.js,
// which builds DOM nodes from text and never parses it as HTML.
import {api_client, api_error} from './api.js';
import {render_markdown} from './markdown.js';

const storage_keys = {
    conversations: 'actorlm.webui.conversations',
    current: 'actorlm.webui.current',
    settings: 'actorlm.webui.settings',
    api_key: 'actorlm.webui.api_key',
};
// max_tokens 256: room for a prompt even in stories260K's 512-token context (a request
// that does not fit is refused with a 400); cleared, the server's default applies.
const default_settings = {model: '', system: '', temperature: 0.7, top_p: 1, max_tokens: 256, seed: ''};

const $ = (id) => document.getElementById(id);
const state = {
    conversations: load_json(storage_keys.conversations, []),
    current: localStorage.getItem(storage_keys.current) || '',
    settings: {...default_settings, ...load_json(storage_keys.settings, {})},
    props: null,          // GET /props
    completion_mode: false,
    running: null,        // {controller, message} while a reply streams
    attachments: [],      // data: URLs of images for the next user message
};
const api = new api_client(() => localStorage.getItem(storage_keys.api_key) || '');

// -- storage -------------------------------------------------------------------------

function load_json(key, fallback) {
    try {
        const value = JSON.parse(localStorage.getItem(key));
        return value === null ? fallback : value;
    } catch (_) {
        return fallback;
    }
}

function save() {
    localStorage.setItem(storage_keys.conversations, JSON.stringify(state.conversations));
    localStorage.setItem(storage_keys.current, state.current);
    localStorage.setItem(storage_keys.settings, JSON.stringify(state.settings));
}

function current_conversation() {
    let c = state.conversations.find((x) => x.id === state.current);
    if (!c) {
        c = {id: 'c' + Date.now().toString(36) + Math.random().toString(36).slice(2, 6),
             title: 'New conversation', created: Date.now(), messages: []};
        state.conversations.unshift(c);
        state.current = c.id;
    }
    return c;
}

// Imported files are outside data: keep only the fields the page uses, as plain strings,
// so nothing in a file can reach the page except as text.
function clean_conversation(c) {
    if (!c || !Array.isArray(c.messages)) return null;
    const text = (v) => (typeof v === 'string' ? v : '');
    return {
        id: 'c' + Date.now().toString(36) + Math.random().toString(36).slice(2, 8),
        title: text(c.title) || 'Imported conversation',
        created: Number(c.created) || Date.now(),
        messages: c.messages
            .filter((m) => m && ['user', 'assistant'].includes(m.role))
            .map((m) => ({
                role: m.role,
                content: text(m.content),
                reasoning: text(m.reasoning),
                images: Array.isArray(m.images) ? m.images.filter(is_image_data_url) : [],
                stats: m.stats && typeof m.stats === 'object' ? {
                    ttft_ms: Number(m.stats.ttft_ms) || 0,
                    tokens: Number(m.stats.tokens) || 0,
                    tokens_per_s: Number(m.stats.tokens_per_s) || 0,
                    finish: text(m.stats.finish),
                } : null,
            })),
    };
}

function is_image_data_url(v) {
    return typeof v === 'string' && /^data:image\/[\w.+-]+;base64,[A-Za-z0-9+/=]*$/.test(v);
}

// -- server --------------------------------------------------------------------------

async function connect() {
    try {
        state.props = await api.get_json('/props');
        const models = await api.get_json('/v1/models');
        fill_model_picker(models.data.map((m) => m.id));
    } catch (e) {
        if (e instanceof api_error && e.status === 401) return ask_for_key(e.message);
        if (e instanceof api_error && e.status === 503) {
            // The model is still loading ("Loading model (42%: ...)"): say how far, ask again.
            $('loading-banner').textContent = e.message;
            $('loading-banner').hidden = false;
            return setTimeout(connect, 1000);
        }
        return show_error('Cannot reach the server: ' + e.message);
    }
    $('loading-banner').hidden = true;
    $('change-key').hidden = !localStorage.getItem(storage_keys.api_key);
    set_completion_mode(!state.props.has_chat_template,
        'The server cannot format chat messages for this model ("' +
        state.props.chat_template_error + '").');
    $('attach-label').hidden = !(state.props.modalities && state.props.modalities.vision);
    render();
}

function fill_model_picker(names) {
    const select = $('model');
    select.replaceChildren(...names.map((name) => {
        const option = document.createElement('option');
        option.value = name;
        option.textContent = name;
        return option;
    }));
    if (!names.includes(state.settings.model)) state.settings.model = names[0] || '';
    select.value = state.settings.model;
}

function set_completion_mode(on, reason) {
    state.completion_mode = on;
    const banner = $('mode-banner');
    banner.hidden = !on;
    $('system-prompt-label').hidden = on;
    if (on) {
        banner.textContent = 'Text-completion mode. ' + reason + ' The page sends the ' +
            'conversation so far as one prompt to /v1/completions, and the model continues ' +
            'the text (system prompt and images are not used).';
    }
}

function ask_for_key(reason) {
    // A refusal of a stored key is worth saying; a first visit just asks.
    const error = $('api-key-error');
    error.hidden = !reason || !localStorage.getItem(storage_keys.api_key);
    error.textContent = 'The key was refused: ' + reason;
    $('api-key-input').value = '';
    if (!$('api-key-dialog').open) $('api-key-dialog').showModal();
}

function sampling_fields() {
    const s = state.settings;
    const body = {model: s.model || undefined, stream: true, stream_options: {include_usage: true}};
    if (s.temperature !== '' && s.temperature !== null) body.temperature = Number(s.temperature);
    if (s.top_p !== '' && s.top_p !== null) body.top_p = Number(s.top_p);
    if (s.max_tokens !== '' && s.max_tokens !== null) body.max_tokens = Number(s.max_tokens);
    if (s.seed !== '' && s.seed !== null) body.seed = Number(s.seed);
    return body;
}

function chat_request(conversation) {
    const messages = [];
    if (state.settings.system.trim()) messages.push({role: 'system', content: state.settings.system});
    for (const m of conversation.messages) {
        if (m === state.running?.message) break;
        if (m.role === 'user' && m.images && m.images.length) {
            messages.push({role: 'user', content: [
                {type: 'text', text: m.content},
                ...m.images.map((url) => ({type: 'image_url', image_url: {url}})),
            ]});
        } else {
            messages.push({role: m.role, content: m.content});
        }
    }
    return {...sampling_fields(), messages};
}

function completion_request(conversation) {
    let prompt = '';
    for (const m of conversation.messages) {
        if (m === state.running?.message) break;
        prompt += m.content;
    }
    return {...sampling_fields(), prompt};
}

/// Streams the reply to `conversation`'s last message into a new assistant message.
async function generate(conversation) {
    const message = {role: 'assistant', content: '', reasoning: '', stats: null};
    conversation.messages.push(message);
    const controller = new AbortController();
    state.running = {controller, message};
    update_controls();
    render();
    const started = performance.now();
    let first = 0;
    let tokens = 0;
    let usage_tokens = 0;
    let finish = '';
    const chat = !state.completion_mode;
    try {
        const stream = chat
            ? api.stream('/v1/chat/completions', chat_request(conversation), controller.signal)
            : api.stream('/v1/completions', completion_request(conversation), controller.signal);
        for await (const chunk of stream) {
            if (chunk.usage) usage_tokens = chunk.usage.completion_tokens;
            const choice = chunk.choices && chunk.choices[0];
            if (!choice) continue;
            const piece = chat ? (choice.delta.content || '') : (choice.text || '');
            const reasoning = chat ? (choice.delta.reasoning_content || '') : '';
            if (piece || reasoning) {
                if (!first) first = performance.now();
                ++tokens;
                message.content += piece;
                message.reasoning += reasoning;
                schedule_render(message);
            }
            if (choice.finish_reason) finish = choice.finish_reason;
        }
    } catch (e) {
        if (controller.signal.aborted) {
            finish = 'stopped';
        } else if (e instanceof api_error && e.status === 401) {
            conversation.messages.pop();
            ask_for_key(e.message);
        } else if (chat && e instanceof api_error && e.status === 400 && /chat template/.test(e.message)) {
            // The server could not format a chat: continue as text completion, saying why.
            conversation.messages.pop();
            set_completion_mode(true, 'The server answered: "' + e.message + '".');
            state.running = null;
            return generate(conversation);
        } else {
            finish = 'error';
            show_error(e.message);
        }
    }
    const ended = performance.now();
    const count = usage_tokens || tokens;
    message.stats = first ? {
        ttft_ms: Math.round(first - started),
        tokens: count,
        tokens_per_s: count > 1 && ended > first ? (count - 1) / ((ended - first) / 1000) : 0,
        finish,
    } : {ttft_ms: 0, tokens: 0, tokens_per_s: 0, finish};
    state.running = null;
    if (conversation.title === 'New conversation' && conversation.messages.length)
        conversation.title = conversation.messages[0].content.slice(0, 40) || 'Conversation';
    save();
    update_controls();
    render();
}

// -- actions -------------------------------------------------------------------------

function send() {
    const text = $('prompt').value;
    if (state.running || (!text.trim() && !state.attachments.length)) return;
    hide_error();
    const conversation = current_conversation();
    conversation.messages.push({role: 'user', content: text, images: state.attachments});
    state.attachments = [];
    render_attachments();
    $('prompt').value = '';
    save();
    generate(conversation);
}

function stop() {
    if (state.running) state.running.controller.abort();
}

function regenerate(conversation) {
    if (state.running) return;
    while (conversation.messages.length && conversation.messages.at(-1).role === 'assistant')
        conversation.messages.pop();
    if (conversation.messages.length) generate(conversation);
}

function edit(conversation, index, node) {
    if (state.running) return;
    const message = conversation.messages[index];
    const editor = document.createElement('textarea');
    editor.className = 'editor';
    editor.value = message.content;
    editor.rows = Math.min(12, message.content.split('\n').length + 1);
    const submit = button('Save and resend', () => {
        message.content = editor.value;
        conversation.messages.length = index + 1;  // the replies to the old text go
        save();
        generate(conversation);
    });
    const cancel = button('Cancel', render);
    node.querySelector('.content').replaceChildren(editor, submit, cancel);
    editor.focus();
}

function export_conversations() {
    const blob = new Blob([JSON.stringify({conversations: state.conversations}, null, 2)],
                          {type: 'application/json'});
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'actorlm-conversations.json';
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 0);
}

async function import_conversations(file) {
    try {
        const data = JSON.parse(await file.text());
        const list = Array.isArray(data) ? data : data.conversations;
        const cleaned = (Array.isArray(list) ? list : []).map(clean_conversation).filter(Boolean);
        if (!cleaned.length) throw new Error('no conversations in the file');
        state.conversations.unshift(...cleaned);
        state.current = cleaned[0].id;
        save();
        render();
    } catch (e) {
        show_error('Import failed: ' + e.message);
    }
}

function attach(files) {
    for (const file of files) {
        const reader = new FileReader();
        reader.onload = () => {
            if (!is_image_data_url(reader.result)) return;
            state.attachments.push(reader.result);
            render_attachments();
        };
        reader.readAsDataURL(file);
    }
}

// -- rendering -----------------------------------------------------------------------

function button(label, onclick) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.addEventListener('click', onclick);
    return b;
}

function render() {
    render_conversation_list();
    const conversation = state.conversations.find((x) => x.id === state.current);
    const list = $('messages');
    list.replaceChildren();
    if (!conversation) return;
    conversation.messages.forEach((m, index) => list.append(message_node(conversation, m, index)));
    list.scrollTop = list.scrollHeight;
}

function render_conversation_list() {
    $('conversations').replaceChildren(...state.conversations.map((c) => {
        const li = document.createElement('li');
        li.className = c.id === state.current ? 'current' : '';
        const open = button(c.title, () => {
            if (state.running) return;
            state.current = c.id;
            save();
            render();
        });
        open.className = 'title';
        const remove = button('×', () => {
            if (state.running) return;
            state.conversations = state.conversations.filter((x) => x !== c);
            if (state.current === c.id) state.current = '';
            save();
            render();
        });
        remove.className = 'delete';
        remove.title = 'Delete this conversation';
        li.append(open, remove);
        return li;
    }));
}

function message_node(conversation, m, index) {
    const node = document.createElement('article');
    node.className = 'msg ' + m.role;
    const head = document.createElement('header');
    const role = document.createElement('span');
    role.className = 'role';
    role.textContent = m.role === 'user' ? (state.completion_mode ? 'prompt' : 'you')
                                         : (state.completion_mode ? 'continuation' : 'assistant');
    head.append(role);
    const idle = !state.running;
    if (idle && m.role === 'user') head.append(button('Edit', () => edit(conversation, index, node)));
    if (idle && m.role === 'assistant' && index === conversation.messages.length - 1)
        head.append(button('Regenerate', () => regenerate(conversation)));
    node.append(head);
    if (m.reasoning) {
        const details = document.createElement('details');
        details.className = 'reasoning';
        const summary = document.createElement('summary');
        summary.textContent = 'Reasoning';
        const body = document.createElement('div');
        body.textContent = m.reasoning;
        details.append(summary, body);
        node.append(details);
    }
    for (const url of m.images || []) {
        if (!is_image_data_url(url)) continue;
        const img = document.createElement('img');
        img.className = 'attachment';
        img.src = url;
        img.alt = 'attached image';
        node.append(img);
    }
    const content = document.createElement('div');
    content.className = 'content';
    if (m.role === 'assistant') content.append(render_markdown(m.content));
    else content.textContent = m.content;  // what the user typed, exactly
    node.append(content);
    if (m.stats) {
        const stats = document.createElement('footer');
        stats.className = 'stats';
        const s = m.stats;
        stats.textContent = s.tokens
            ? `TTFT ${s.ttft_ms} ms · ${s.tokens} token${s.tokens === 1 ? '' : 's'} · ` +
              `${s.tokens_per_s.toFixed(1)} tokens/s` +
              (s.finish ? ` · ${s.finish}` : '')
            : s.finish;
        node.append(stats);
    }
    return node;
}

// Re-rendering a growing message on every token would redo the work per token; once per
// frame is as often as the screen changes.
let frame_pending = false;
function schedule_render(message) {
    if (frame_pending) return;
    frame_pending = true;
    requestAnimationFrame(() => {
        frame_pending = false;
        const list = $('messages');
        const last = list.lastElementChild;
        const conversation = state.conversations.find((x) => x.id === state.current);
        if (!last || !conversation || conversation.messages.at(-1) !== message) return render();
        list.replaceChild(message_node(conversation, message, conversation.messages.length - 1), last);
        list.scrollTop = list.scrollHeight;
    });
}

function render_attachments() {
    $('attachments').replaceChildren(...state.attachments.map((url, i) => {
        const img = document.createElement('img');
        img.src = url;
        img.alt = 'image to send';
        img.title = 'Click to remove';
        img.addEventListener('click', () => {
            state.attachments.splice(i, 1);
            render_attachments();
        });
        return img;
    }));
}

function update_controls() {
    const busy = Boolean(state.running);
    $('send').hidden = busy;
    $('stop').hidden = !busy;
}

function show_error(text) {
    $('error-banner').textContent = text;
    $('error-banner').hidden = false;
}

function hide_error() {
    $('error-banner').hidden = true;
}

// -- wiring --------------------------------------------------------------------------

function bind_setting(id, key) {
    const input = $(id);
    input.value = state.settings[key];
    input.addEventListener('change', () => {
        state.settings[key] = input.value;
        save();
    });
}

bind_setting('system-prompt', 'system');
bind_setting('temperature', 'temperature');
bind_setting('top-p', 'top_p');
bind_setting('max-tokens', 'max_tokens');
bind_setting('seed', 'seed');
bind_setting('model', 'model');
$('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    send();
});
$('prompt').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        send();
    }
});
$('stop').addEventListener('click', stop);
$('new-chat').addEventListener('click', () => {
    if (state.running) return;
    state.current = '';
    current_conversation();
    save();
    render();
});
$('export').addEventListener('click', export_conversations);
$('import').addEventListener('change', (e) => {
    if (e.target.files[0]) import_conversations(e.target.files[0]);
    e.target.value = '';
});
$('attach').addEventListener('change', (e) => {
    attach(e.target.files);
    e.target.value = '';
});
$('change-key').addEventListener('click', () => ask_for_key(''));
$('api-key-form').addEventListener('submit', () => {
    localStorage.setItem(storage_keys.api_key, $('api-key-input').value.trim());
    connect();
});
update_controls();
render();
connect();
