// tokenizer.json component parsing (see hf_components.hpp).
#include "tokenizer/hf_components.hpp"

namespace actorlm::tok {

using simdjson::dom::element;
using simdjson::dom::element_type;

std::string json_string(element obj, const char* key, const std::string& fallback) {
    std::string_view v;
    if (obj[key].get_string().get(v) != simdjson::SUCCESS) return fallback;
    return std::string(v);
}

bool json_bool(element obj, const char* key, bool fallback) {
    bool v = fallback;
    if (obj[key].get_bool().get(v) != simdjson::SUCCESS) return fallback;
    return v;
}

namespace {

// Appends ".0" to integer literals of 19+ digits outside strings, so simdjson reads them as
// doubles (its DOM parser rejects integers beyond 64 bits).
std::string widen_big_integers(const std::string& text) {
    std::string out;
    out.reserve(text.size() + 16);
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            out.push_back(c);
            if (c == '\\' && i + 1 < text.size())
                out.push_back(text[++i]);
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') in_string = true;
        if (c >= '0' && c <= '9' && (i == 0 || !(text[i - 1] >= '0' && text[i - 1] <= '9'))) {
            size_t j = i;
            while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j;
            out.append(text, i, j - i);
            const bool fraction =
                j < text.size() && (text[j] == '.' || text[j] == 'e' || text[j] == 'E');
            if (j - i >= 19 && !fraction) out.append(".0");
            i = j - 1;
            continue;
        }
        out.push_back(c);
    }
    return out;
}

}  // namespace

status load_json_file(simdjson::dom::parser& parser, const std::string& path,
                      simdjson::dom::element& doc) {
    simdjson::padded_string text;
    if (auto err = simdjson::padded_string::load(path).get(text); err != simdjson::SUCCESS)
        return make_error("%s: cannot read: %s", path.c_str(), simdjson::error_message(err));
    auto err = parser.parse(text).get(doc);
    if (err == simdjson::NUMBER_ERROR || err == simdjson::NUMBER_OUT_OF_RANGE) {
        const std::string widened = widen_big_integers(std::string(text.data(), text.size()));
        err = parser.parse(widened).get(doc);  // the parser copies the input into its own buffer
    }
    if (err != simdjson::SUCCESS)
        return make_error("%s: invalid JSON: %s", path.c_str(), simdjson::error_message(err));
    return {};
}

namespace {

int64_t json_int(element obj, const char* key, int64_t fallback) {
    int64_t v = fallback;
    if (obj[key].get_int64().get(v) != simdjson::SUCCESS) return fallback;
    return v;
}

bool is_null(element e) { return e.type() == element_type::NULL_VALUE; }

// A {"String": "..."} or {"Regex": "..."} pattern object.
struct pattern {
    std::string text;
    bool is_regex = false;
};

result<pattern> read_pattern(element obj, const char* where) {
    element p;
    if (obj["pattern"].get(p) != simdjson::SUCCESS)
        return make_error("tokenizer.json: %s has no pattern", where);
    std::string_view s;
    if (p["String"].get_string().get(s) == simdjson::SUCCESS) return pattern{std::string(s), false};
    if (p["Regex"].get_string().get(s) == simdjson::SUCCESS) return pattern{std::string(s), true};
    return make_error("tokenizer.json: %s pattern is neither String nor Regex", where);
}

result<split_behaviour> read_behaviour(element obj) {
    const std::string b = json_string(obj, "behavior", "Isolated");
    if (b == "Removed") return split_behaviour::removed;
    if (b == "Isolated") return split_behaviour::isolated;
    if (b == "MergedWithPrevious") return split_behaviour::merged_with_previous;
    if (b == "MergedWithNext") return split_behaviour::merged_with_next;
    if (b == "Contiguous") return split_behaviour::contiguous;
    return make_error("tokenizer.json: unknown split behavior '%s'", b.c_str());
}

prepend_scheme read_scheme(element obj) {
    const std::string s = json_string(obj, "prepend_scheme", "");
    if (s == "first") return prepend_scheme::first;
    if (s == "never") return prepend_scheme::never;
    if (s == "always") return prepend_scheme::always;
    return json_bool(obj, "add_prefix_space", true) ? prepend_scheme::always
                                                    : prepend_scheme::never;
}

status add_regex_split(pre_tokenizer& out, const std::string& re, split_behaviour b, bool invert) {
    auto r = regex::compile(re);
    if (!r) return r.err();
    pre_tokenizer_step s;
    s.what = pre_tokenizer_step::kind::split;
    s.re = *r;
    s.behaviour = b;
    s.invert = invert;
    out.add(std::move(s));
    return {};
}

}  // namespace

status build_normalizer(element json, normalizer& out) {
    if (is_null(json)) return {};
    const std::string type = json_string(json, "type");
    if (type == "Sequence") {
        simdjson::dom::array list;
        if (json["normalizers"].get_array().get(list) != simdjson::SUCCESS)
            return make_error("tokenizer.json: Sequence normalizer without a normalizers list");
        for (element e : list)
            if (auto st = build_normalizer(e, out); !st) return st;
        return {};
    }
    normalizer_step s;
    if (type == "Prepend") {
        s.what = normalizer_step::kind::prepend;
        s.text = json_string(json, "prepend");
    } else if (type == "Replace") {
        auto p = read_pattern(json, "Replace normalizer");
        if (!p) return p.err();
        s.what = normalizer_step::kind::replace;
        s.content = json_string(json, "content");
        if (p->is_regex) {
            auto r = regex::compile(p->text);
            if (!r) return r.err();
            s.re = *r;
        } else {
            s.text = p->text;
        }
    } else if (type == "NFC") {
        s.what = normalizer_step::kind::nfc;
    } else if (type == "NFKC") {
        s.what = normalizer_step::kind::nfkc;
    } else if (type == "NFD") {
        s.what = normalizer_step::kind::nfd;
    } else if (type == "NFKD") {
        s.what = normalizer_step::kind::nfkd;
    } else if (type == "Lowercase") {
        s.what = normalizer_step::kind::lowercase;
    } else if (type == "Strip") {
        s.what = normalizer_step::kind::strip;
        s.strip_left = json_bool(json, "strip_left", true);
        s.strip_right = json_bool(json, "strip_right", true);
    } else if (type == "BertNormalizer") {
        s.what = normalizer_step::kind::bert;
        s.bert.clean_text = json_bool(json, "clean_text", true);
        s.bert.handle_chinese_chars = json_bool(json, "handle_chinese_chars", true);
        s.bert.lowercase = json_bool(json, "lowercase", true);
        s.bert.strip_accents =
            json_bool(json, "strip_accents", s.bert.lowercase);  // null: as lowercase
    } else {
        return make_error("tokenizer.json: unsupported normalizer type '%s'", type.c_str());
    }
    out.add(std::move(s));
    return {};
}

status build_pre_tokenizer(element json, pre_tokenizer& out) {
    if (is_null(json)) return {};
    const std::string type = json_string(json, "type");
    if (out.byte_level())
        return make_error("tokenizer.json: pre-tokenizer '%s' after ByteLevel is not supported",
                          type.c_str());
    if (type == "Sequence") {
        simdjson::dom::array list;
        if (json["pretokenizers"].get_array().get(list) != simdjson::SUCCESS)
            return make_error(
                "tokenizer.json: Sequence pre_tokenizer without a pretokenizers list");
        for (element e : list)
            if (auto st = build_pre_tokenizer(e, out); !st) return st;
        return {};
    }
    if (type == "Split") {
        auto p = read_pattern(json, "Split pre_tokenizer");
        if (!p) return p.err();
        auto b = read_behaviour(json);
        if (!b) return b.err();
        auto r = p->is_regex ? regex::compile(p->text) : regex::literal(p->text);
        if (!r) return r.err();
        pre_tokenizer_step s;
        s.re = *r;
        s.behaviour = *b;
        s.invert = json_bool(json, "invert", false);
        out.add(std::move(s));
        return {};
    }
    if (type == "ByteLevel") {
        pre_tokenizer_step s;
        s.what = pre_tokenizer_step::kind::byte_level;
        s.add_prefix_space = json_bool(json, "add_prefix_space", false);
        if (json_bool(json, "use_regex", true)) {
            auto r = regex::compile(k_gpt2_pattern);
            if (!r) return r.err();
            s.re = *r;
        }
        out.add(std::move(s));
        return {};
    }
    if (type == "Metaspace") {
        pre_tokenizer_step s;
        s.what = pre_tokenizer_step::kind::metaspace;
        s.replacement = json_string(json, "replacement", "\xE2\x96\x81");
        s.scheme = read_scheme(json);
        s.metaspace_split = json_bool(json, "split", true);
        out.add(std::move(s));
        return {};
    }
    if (type == "Digits")
        return add_regex_split(out,
                               json_bool(json, "individual_digits", false) ? "\\p{N}" : "\\p{N}+",
                               split_behaviour::isolated, false);
    if (type == "Punctuation") {
        auto b = read_behaviour(json);
        if (!b) return b.err();
        return add_regex_split(out, "[\\p{P}!-/:-@\\[-`{-~]", *b, false);
    }
    if (type == "Whitespace")
        return add_regex_split(out, "\\w+|[^\\w\\s]+", split_behaviour::removed, true);
    if (type == "WhitespaceSplit")
        return add_regex_split(out, "\\s+", split_behaviour::removed, false);
    if (type == "BertPreTokenizer") {
        pre_tokenizer_step s;
        s.what = pre_tokenizer_step::kind::bert;
        out.add(std::move(s));
        return {};
    }
    return make_error("tokenizer.json: unsupported pre_tokenizer type '%s'", type.c_str());
}

status build_decoder(element json, decoder& out) {
    if (is_null(json)) return {};
    const std::string type = json_string(json, "type");
    if (type == "Sequence") {
        simdjson::dom::array list;
        if (json["decoders"].get_array().get(list) != simdjson::SUCCESS)
            return make_error("tokenizer.json: Sequence decoder without a decoders list");
        for (element e : list)
            if (auto st = build_decoder(e, out); !st) return st;
        return {};
    }
    decoder_step s;
    if (type == "ByteLevel") {
        s.what = decoder_step::kind::byte_level;
    } else if (type == "Metaspace") {
        s.what = decoder_step::kind::metaspace;
        s.replacement = json_string(json, "replacement", "\xE2\x96\x81");
        s.scheme = read_scheme(json);
    } else if (type == "Replace") {
        auto p = read_pattern(json, "Replace decoder");
        if (!p) return p.err();
        if (p->is_regex)
            return make_error(
                "tokenizer.json: Replace decoder with a Regex pattern is not supported");
        s.what = decoder_step::kind::replace;
        s.pattern = p->text;
        s.content = json_string(json, "content");
    } else if (type == "ByteFallback") {
        s.what = decoder_step::kind::byte_fallback;
    } else if (type == "Fuse") {
        s.what = decoder_step::kind::fuse;
    } else if (type == "Strip") {
        s.what = decoder_step::kind::strip;
        s.content = json_string(json, "content", " ");
        s.strip_start = static_cast<size_t>(json_int(json, "start", 0));
        s.strip_stop = static_cast<size_t>(json_int(json, "stop", 0));
    } else if (type == "WordPiece") {
        s.what = decoder_step::kind::wordpiece;
        s.pattern = json_string(json, "prefix", "##");
        s.cleanup = json_bool(json, "cleanup", true);
    } else {
        return make_error("tokenizer.json: unsupported decoder type '%s'", type.c_str());
    }
    out.add(std::move(s));
    return {};
}

result<post_template> build_post_processor(element json) {
    post_template t;
    if (is_null(json)) return t;
    const std::string type = json_string(json, "type");
    if (type == "ByteLevel") return t;  // only adjusts offsets
    if (type == "Sequence") {
        simdjson::dom::array list;
        if (json["processors"].get_array().get(list) != simdjson::SUCCESS)
            return make_error("tokenizer.json: Sequence post_processor without a processors list");
        for (element e : list) {
            auto sub = build_post_processor(e);
            if (!sub) return sub.err();
            t.prefix.insert(t.prefix.end(), sub->prefix.begin(), sub->prefix.end());
            t.suffix.insert(t.suffix.begin(), sub->suffix.begin(), sub->suffix.end());
        }
        return t;
    }
    if (type == "TemplateProcessing") {
        simdjson::dom::array single;
        if (json["single"].get_array().get(single) != simdjson::SUCCESS)
            return make_error("tokenizer.json: TemplateProcessing without a single template");
        bool after_sequence = false;
        for (element item : single) {
            element sp;
            if (item["Sequence"].get(sp) == simdjson::SUCCESS) {
                after_sequence = true;
                continue;
            }
            if (item["SpecialToken"].get(sp) != simdjson::SUCCESS)
                return make_error(
                    "tokenizer.json: TemplateProcessing item is neither Sequence nor SpecialToken");
            const std::string name = json_string(sp, "id");
            // the special_tokens map may expand one name into several tokens
            simdjson::dom::array toks;
            std::vector<std::string> spellings;
            if (json["special_tokens"][name]["tokens"].get_array().get(toks) == simdjson::SUCCESS) {
                for (element e : toks) {
                    std::string_view s;
                    if (e.get_string().get(s) == simdjson::SUCCESS) spellings.emplace_back(s);
                }
            } else {
                spellings.push_back(name);
            }
            auto& dst = after_sequence ? t.suffix : t.prefix;
            dst.insert(dst.end(), spellings.begin(), spellings.end());
        }
        return t;
    }
    if (type == "RobertaProcessing" || type == "BertProcessing") {
        std::string_view cls, sep;
        if (json["cls"].at(0).get_string().get(cls) != simdjson::SUCCESS ||
            json["sep"].at(0).get_string().get(sep) != simdjson::SUCCESS)
            return make_error("tokenizer.json: %s without cls/sep", type.c_str());
        t.prefix.emplace_back(cls);
        t.suffix.emplace_back(sep);
        return t;
    }
    return make_error("tokenizer.json: unsupported post_processor type '%s'", type.c_str());
}

}  // namespace actorlm::tok
