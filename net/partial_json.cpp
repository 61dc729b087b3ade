// partial_json: a recursive-descent scanner over a JSON prefix (see partial_json.hpp).
// Depth is bounded so adversarial model output cannot exhaust the stack.
#include "net/partial_json.hpp"

#include <simdjson.h>

#include <cstdint>

namespace actorlm::net::partial_json {

namespace {

constexpr int k_max_scan_depth = 128;

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

scanned_value scan_at(std::string_view text, size_t pos, int depth);

scanned_value scan_string_literal(std::string_view text, size_t pos) {
    scanned_value v{scan_state::incomplete, pos, text.size()};
    for (size_t i = pos + 1; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\\') {
            ++i;  // the escaped byte (a \u's hex digits are ordinary bytes here)
            continue;
        }
        if (c == '"') return {scan_state::complete, pos, i + 1};
        if (static_cast<unsigned char>(c) < 0x20) return {scan_state::invalid, pos, i};
    }
    return v;
}

scanned_value scan_scalar(std::string_view text, size_t pos) {
    size_t i = pos;
    while (i < text.size()) {
        const char c = text[i];
        const bool part = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' ||
                          c == '+' || c == '.' || c == 'E';
        if (!part) break;
        ++i;
    }
    if (i == pos) return {scan_state::invalid, pos, pos};
    if (i == text.size()) return {scan_state::incomplete, pos, i};
    const std::string_view word = text.substr(pos, i - pos);
    const bool keyword = word == "true" || word == "false" || word == "null";
    const bool number = (word[0] == '-' || (word[0] >= '0' && word[0] <= '9')) &&
                        word.find_first_of("abcdfghijklmnopqrstuvwxyz") == std::string_view::npos;
    return {keyword || number ? scan_state::complete : scan_state::invalid, pos, i};
}

// An array or object: elements (objects: key ':' value) separated by commas.
scanned_value scan_container(std::string_view text, size_t pos, int depth) {
    const bool object = text[pos] == '{';
    const char close = object ? '}' : ']';
    size_t i = skip_whitespace(text, pos + 1);
    if (i < text.size() && text[i] == close) return {scan_state::complete, pos, i + 1};
    while (true) {
        if (i >= text.size()) return {scan_state::incomplete, pos, text.size()};
        if (object) {
            if (text[i] != '"') return {scan_state::invalid, pos, i};
            const scanned_value key = scan_string_literal(text, i);
            if (key.state != scan_state::complete) return {key.state, pos, key.end};
            i = skip_whitespace(text, key.end);
            if (i >= text.size()) return {scan_state::incomplete, pos, text.size()};
            if (text[i] != ':') return {scan_state::invalid, pos, i};
            ++i;
        }
        const scanned_value element = scan_at(text, i, depth + 1);
        if (element.state != scan_state::complete) return {element.state, pos, element.end};
        i = skip_whitespace(text, element.end);
        if (i >= text.size()) return {scan_state::incomplete, pos, text.size()};
        if (text[i] == close) return {scan_state::complete, pos, i + 1};
        if (text[i] != ',') return {scan_state::invalid, pos, i};
        i = skip_whitespace(text, i + 1);
    }
}

scanned_value scan_at(std::string_view text, size_t pos, int depth) {
    pos = skip_whitespace(text, pos);
    if (pos >= text.size()) return {scan_state::incomplete, pos, text.size()};
    if (depth > k_max_scan_depth) return {scan_state::invalid, pos, pos};
    const char c = text[pos];
    if (c == '"') return scan_string_literal(text, pos);
    if (c == '{' || c == '[') return scan_container(text, pos, depth);
    return scan_scalar(text, pos);
}

}  // namespace

size_t skip_whitespace(std::string_view text, size_t pos) {
    while (pos < text.size() && is_json_space(text[pos])) ++pos;
    return pos;
}

scanned_value scan_value(std::string_view text, size_t pos) { return scan_at(text, pos, 0); }

std::optional<std::string> decode_string(std::string_view literal) {
    // A complete literal is a JSON document of its own, so simdjson decodes its escapes
    // (surrogate pairs included) and refuses what is not valid JSON.
    if (literal.size() < 2 || literal.front() != '"') return std::nullopt;
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element doc;
    std::string_view value;
    if (parser.parse(literal.data(), literal.size()).get(doc) != simdjson::SUCCESS ||
        doc.get(value) != simdjson::SUCCESS)
        return std::nullopt;
    return std::string(value);
}

const object_field* scanned_object::find(std::string_view key) const {
    for (const auto& f : fields)
        if (f.key == key) return &f;
    return nullptr;
}

scanned_object scan_object(std::string_view text, size_t pos) {
    scanned_object obj;
    size_t i = skip_whitespace(text, pos);
    obj.begin = i;
    obj.end = text.size();
    if (i >= text.size()) return obj;
    if (text[i] != '{') {
        obj.state = scan_state::invalid;
        obj.end = i;
        return obj;
    }
    i = skip_whitespace(text, i + 1);
    if (i < text.size() && text[i] == '}') {
        obj.state = scan_state::complete;
        obj.end = i + 1;
        return obj;
    }
    while (i < text.size()) {
        if (text[i] != '"') break;
        const scanned_value key = scan_string_literal(text, i);
        if (key.state == scan_state::incomplete) return obj;
        if (key.state == scan_state::invalid) break;
        size_t j = skip_whitespace(text, key.end);
        if (j >= text.size()) return obj;
        if (text[j] != ':') break;
        auto name = decode_string(text.substr(key.begin, key.end - key.begin));
        if (!name) break;
        object_field field{std::move(*name), scan_value(text, j + 1)};
        const scanned_value value = field.value;
        obj.fields.push_back(std::move(field));
        if (value.state == scan_state::incomplete) return obj;
        if (value.state == scan_state::invalid) {
            obj.state = scan_state::invalid;
            obj.end = value.end;
            return obj;
        }
        j = skip_whitespace(text, value.end);
        if (j >= text.size()) return obj;
        if (text[j] == '}') {
            obj.state = scan_state::complete;
            obj.end = j + 1;
            return obj;
        }
        if (text[j] != ',') {
            i = j;
            break;
        }
        i = skip_whitespace(text, j + 1);
    }
    if (i >= text.size()) return obj;
    obj.state = scan_state::invalid;
    obj.end = i;
    return obj;
}

}  // namespace actorlm::net::partial_json
