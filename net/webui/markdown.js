// markdown.js: renders model output (Markdown) into DOM nodes, and highlights code
// blocks. Safety rests on one rule: text only ever reaches the page through text nodes
// (createTextNode / textContent), never as markup, so a generated `<script>` or
// `<img onerror>` is shown as the characters it is. Links keep only http(s) and mailto
// targets. Works on partial text too (an open ``` fence runs to the end), since the
// page re-renders a message as its tokens stream in.

/// The Markdown subset chat models write: fenced code, headings, lists, quotes, rules,
/// paragraphs; inline code, bold, italic, links. Returns a DocumentFragment.
export function render_markdown(text) {
    const out = document.createDocumentFragment();
    const lines = text.replace(/\r\n?/g, '\n').split('\n');
    let i = 0;
    while (i < lines.length) {
        const line = lines[i];
        const fence = line.match(/^\s*(`{3,}|~{3,})\s*([\w+#.-]*)/);
        if (fence) {
            const code = [];
            for (++i; i < lines.length && !lines[i].trim().startsWith(fence[1]); ++i)
                code.push(lines[i]);
            ++i;  // the closing fence (or past the end while it is still streaming)
            out.append(code_block(code.join('\n'), fence[2]));
            continue;
        }
        if (/^\s*$/.test(line)) {
            ++i;
            continue;
        }
        const heading = line.match(/^(#{1,6})\s+(.*)$/);
        if (heading) {
            // # is h3: a reply's headings sit below the page's own.
            const h = document.createElement('h' + Math.min(heading[1].length + 2, 6));
            append_inline(h, heading[2]);
            out.append(h);
            ++i;
            continue;
        }
        if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
            out.append(document.createElement('hr'));
            ++i;
            continue;
        }
        if (/^\s*>/.test(line)) {
            const quoted = [];
            for (; i < lines.length && /^\s*>/.test(lines[i]); ++i)
                quoted.push(lines[i].replace(/^\s*> ?/, ''));
            const q = document.createElement('blockquote');
            q.append(render_markdown(quoted.join('\n')));
            out.append(q);
            continue;
        }
        if (list_item(line)) {
            const ordered = /^\s*\d/.test(line);
            const list = document.createElement(ordered ? 'ol' : 'ul');
            while (i < lines.length && list_item(lines[i])) {
                const li = document.createElement('li');
                let body = list_item(lines[i])[3];
                // Indented lines that follow continue the item.
                for (++i; i < lines.length && /^\s{2,}\S/.test(lines[i]) && !list_item(lines[i]); ++i)
                    body += '\n' + lines[i].trim();
                append_inline(li, body);
                list.append(li);
            }
            out.append(list);
            continue;
        }
        const paragraph = [];
        for (; i < lines.length && !/^\s*$/.test(lines[i]) && !starts_block(lines[i]); ++i)
            paragraph.push(lines[i]);
        if (paragraph.length === 0) paragraph.push(lines[i++]);  // never loop without progress
        const p = document.createElement('p');
        append_inline(p, paragraph.join('\n'));
        out.append(p);
    }
    return out;
}

function list_item(line) {
    return line.match(/^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/);
}

function starts_block(line) {
    return /^\s*(`{3,}|~{3,})/.test(line) || /^#{1,6}\s/.test(line) || /^\s*>/.test(line) ||
        list_item(line) !== null;
}

// Code spans first (their content is literal), then links, bold, italic.
const inline_pattern =
    /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)|\[([^\]\n]+)\]\(([^)\s]+)\)|\*\*(?=\S)([\s\S]*?\S)\*\*|\*(?=[^\s*])([\s\S]*?[^\s*])\*/g;

/// Appends `text`'s inline Markdown to `parent` as elements and text nodes.
export function append_inline(parent, text) {
    let last = 0;
    inline_pattern.lastIndex = 0;
    for (let m; (m = inline_pattern.exec(text)) !== null;) {
        parent.append(document.createTextNode(text.slice(last, m.index)));
        last = inline_pattern.lastIndex;
        if (m[1] !== undefined) {
            const code = document.createElement('code');
            code.textContent = m[2];
            parent.append(code);
        } else if (m[3] !== undefined) {
            if (/^(https?:|mailto:)/i.test(m[4])) {
                const a = document.createElement('a');
                a.href = m[4];
                a.target = '_blank';
                a.rel = 'noopener noreferrer';
                append_inline(a, m[3]);
                parent.append(a);
            } else {
                parent.append(document.createTextNode(m[0]));  // javascript: and the like
            }
        } else {
            const el = document.createElement(m[5] !== undefined ? 'strong' : 'em');
            append_inline(el, m[5] !== undefined ? m[5] : m[6]);
            parent.append(el);
        }
        // The nested calls above reuse the one global pattern: continue where this match ended.
        inline_pattern.lastIndex = last;
    }
    parent.append(document.createTextNode(text.slice(last)));
}

function code_block(code, language) {
    const box = document.createElement('div');
    box.className = 'code-block';
    const head = document.createElement('div');
    head.className = 'code-head';
    const label = document.createElement('span');
    label.textContent = language || 'text';
    const copy = document.createElement('button');
    copy.type = 'button';
    copy.textContent = 'Copy';
    copy.addEventListener('click', () => {
        if (navigator.clipboard) navigator.clipboard.writeText(code).catch(() => {});
    });
    head.append(label, copy);
    const pre = document.createElement('pre');
    const el = document.createElement('code');
    el.className = 'language-' + (language || 'text');
    highlight(el, code, language);
    pre.append(el);
    box.append(head, pre);
    return box;
}

// -- syntax highlighting ------------------------------------------------------------
// A tokenizer per family of languages: comments, strings, numbers and keywords become
// <span class="tok-…">; everything else stays plain text.

const c_like_keywords =
    'auto break case catch class const constexpr continue default delete do else enum export ' +
    'extends false final finally for fn func function go if impl import in interface let loop ' +
    'match mod mut namespace new nullptr null nil override package private protected public ' +
    'return self static struct super switch template this throw true try type typedef typename ' +
    'union unsafe use using var virtual void while yield async await int long short char bool ' +
    'float double unsigned signed size_t string boolean undefined of instanceof typeof chan ' +
    'defer range select map where pub crate';
const script_keywords =
    'and as assert async await break class continue def del elif else except False finally for ' +
    'from global if import in is lambda None nonlocal not or pass raise return True try while ' +
    'with yield print echo fi then do done esac case function local export begin end module ' +
    'require unless until when puts nil self';
const sql_keywords =
    'select from where insert into values update set delete create table drop alter join left ' +
    'right inner outer on group by order having limit and or not null as distinct union all ' +
    'primary key index view begin commit rollback';

const families = {
    c: {comment: /\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$)/, keywords: c_like_keywords},
    hash: {comment: /#[^\n]*/, keywords: script_keywords},
    sql: {comment: /--[^\n]*|\/\*[\s\S]*?(?:\*\/|$)/, keywords: sql_keywords, fold_case: true},
};
const family_of_language = {
    python: 'hash', py: 'hash', bash: 'hash', sh: 'hash', shell: 'hash', zsh: 'hash',
    ruby: 'hash', rb: 'hash', yaml: 'hash', yml: 'hash', toml: 'hash', perl: 'hash',
    r: 'hash', makefile: 'hash', cmake: 'hash', dockerfile: 'hash', sql: 'sql',
};

function highlight(parent, code, language) {
    const family = families[family_of_language[(language || '').toLowerCase()] || 'c'];
    const keywords = new Set(family.keywords.split(' '));
    const pattern = new RegExp(
        '(' + family.comment.source + ')' +
        '|("""[\\s\\S]*?(?:"""|$)|"(?:[^"\\\\\\n]|\\\\.)*"?|\'(?:[^\'\\\\\\n]|\\\\.)*\'?|`[^`]*`?)' +
        '|(\\b0[xX][0-9a-fA-F]+\\b|\\b\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?\\b)' +
        '|([A-Za-z_][\\w]*)',
        'g');
    let last = 0;
    for (let m; (m = pattern.exec(code)) !== null;) {
        if (m[0].length === 0) {
            ++pattern.lastIndex;
            continue;
        }
        let kind = m[1] !== undefined ? 'com' : m[2] !== undefined ? 'str' : m[3] !== undefined ? 'num' : null;
        if (m[4] !== undefined) {
            const word = family.fold_case ? m[4].toLowerCase() : m[4];
            if (!keywords.has(word)) continue;  // stays in the plain text before the next token
            kind = 'kw';
        }
        parent.append(document.createTextNode(code.slice(last, m.index)));
        const span = document.createElement('span');
        span.className = 'tok-' + kind;
        span.textContent = m[0];
        parent.append(span);
        last = pattern.lastIndex;
    }
    parent.append(document.createTextNode(code.slice(last)));
}
