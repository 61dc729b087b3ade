// api.js: the page's only contact with the server. JSON GETs and streamed POSTs to the
// OpenAI-compatible endpoints, the API key as a Bearer header, server errors turned into
// api_error, and the SSE stream parsed into JSON chunks. Aborting the signal closes the
// connection, which makes the server abort the request.

/// An HTTP error answer: `status` and the server's OpenAI error object, when it sent one.
export class api_error extends Error {
    constructor(status, message, body) {
        super(message);
        this.status = status;
        this.body = body;
    }
}

export class api_client {
    /// `get_key()` returns the API key to send, or an empty string.
    constructor(get_key) {
        this.get_key = get_key;
    }

    headers(json) {
        const h = {};
        if (json) h['Content-Type'] = 'application/json';
        const key = this.get_key();
        if (key) h['Authorization'] = 'Bearer ' + key;
        return h;
    }

    async get_json(path) {
        const response = await fetch(path, {headers: this.headers(false)});
        if (!response.ok) throw await error_of(response);
        return response.json();
    }

    /// POSTs `body` with stream: true and yields each `data:` chunk's JSON until [DONE].
    async *stream(path, body, signal) {
        const response = await fetch(path, {
            method: 'POST',
            headers: this.headers(true),
            body: JSON.stringify(body),
            signal,
        });
        if (!response.ok) throw await error_of(response);
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let pending = '';
        try {
            for (;;) {
                const {value, done} = await reader.read();
                if (done) break;
                pending += decoder.decode(value, {stream: true});
                // Events end with a blank line; a chunk may hold several, or part of one.
                let end;
                while ((end = pending.indexOf('\n\n')) >= 0) {
                    const event = pending.slice(0, end);
                    pending = pending.slice(end + 2);
                    for (const line of event.split('\n')) {
                        if (!line.startsWith('data:')) continue;
                        const data = line.slice(5).trim();
                        if (data === '[DONE]') return;
                        const chunk = JSON.parse(data);
                        if (chunk.error) throw new api_error(500, chunk.error.message, chunk);
                        yield chunk;
                    }
                }
            }
        } finally {
            reader.releaseLock();
        }
    }
}

async function error_of(response) {
    let body = null;
    try {
        body = await response.json();
    } catch (_) {
        // not JSON: the status line says enough
    }
    const message = body && body.error && body.error.message
        ? body.error.message
        : `${response.status} ${response.statusText}`;
    return new api_error(response.status, message, body);
}
