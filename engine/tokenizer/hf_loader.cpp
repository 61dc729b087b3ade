// tokenizer::from_hf: reads tokenizer.json with simdjson's DOM parser (a 9 MB file parses in
// milliseconds) plus tokenizer_config.json, chat_template.jinja and generation_config.json
// beside it. Runs on the loading thread; the result is immutable.
#include <simdjson.h>

#include <algorithm>
#include <filesystem>

#include "base/text_file.hpp"
#include "tokenizer/hf_components.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/utf8.hpp"
#include "tokenizer/wordpiece_model.hpp"

namespace actorlm {

using namespace tok;
using simdjson::dom::element;

namespace {

// A token field of tokenizer_config.json: "<s>" or {"content": "<s>", ...}.
std::string config_token(element cfg, const char* key) {
    element e;
    if (cfg[key].get(e) != simdjson::SUCCESS) return {};
    std::string_view s;
    if (e.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
    if (e["content"].get_string().get(s) == simdjson::SUCCESS) return std::string(s);
    return {};
}

// -1 absent, 0 false, 1 true
int config_flag(element cfg, const char* key) {
    bool b = false;
    if (cfg[key].get_bool().get(b) != simdjson::SUCCESS) return -1;
    return b ? 1 : 0;
}

// What from_hf needs to know about the model once it is built.
struct model_summary {
    bool wordpiece = false;
    size_t num_merges = 0;
    bool byte_fallback = false;
    int32_t unk_id = -1;
};

// A WordPiece model: {"vocab": {"[PAD]": 0, ...}, "unk_token", "continuing_subword_prefix",
// "max_input_chars_per_word"}. The vocabulary's spellings are the model's keys.
status read_wordpiece(element model, tokenizer_parts& parts, const std::string& path,
                      model_summary& sum) {
    simdjson::dom::object vocab;
    if (model["vocab"].get_object().get(vocab) != simdjson::SUCCESS)
        return make_error("%s: WordPiece model.vocab is missing or not an object", path.c_str());
    for (auto field : vocab) {
        int64_t id = -1;
        if (field.value.get_int64().get(id) != simdjson::SUCCESS || id < 0 || id > (1 << 24))
            return make_error("%s: WordPiece vocab entry has a bad id", path.c_str());
        if (static_cast<size_t>(id) >= parts.id_to_text.size())
            parts.id_to_text.resize(static_cast<size_t>(id) + 1);
        parts.id_to_text[static_cast<size_t>(id)] = std::string(field.key);
    }
    wordpiece_options opts;
    opts.continuing_prefix = json_string(model, "continuing_subword_prefix", "##");
    int64_t max_chars = 100;
    if (model["max_input_chars_per_word"].get_int64().get(max_chars) == simdjson::SUCCESS &&
        max_chars < 0)
        return make_error("%s: WordPiece max_input_chars_per_word is negative", path.c_str());
    opts.max_input_chars_per_word = static_cast<size_t>(max_chars);
    // HF fails on the first unknown word when unk_token is missing; refuse the file up front
    const std::string unk = json_string(model, "unk_token", "[UNK]");
    auto it = std::find(parts.id_to_text.begin(), parts.id_to_text.end(), unk);
    if (it == parts.id_to_text.end())
        return make_error("%s: WordPiece unk_token '%s' is not in the vocabulary", path.c_str(),
                          unk.c_str());
    opts.unk_id = static_cast<int32_t>(it - parts.id_to_text.begin());
    sum.unk_id = opts.unk_id;
    sum.wordpiece = true;
    parts.model = std::make_unique<wordpiece_model>(parts.id_to_text, opts);
    return {};
}

status read_model(element model, tokenizer_parts& parts, const std::string& path,
                  model_summary& sum) {
    const std::string type = json_string(model, "type", "BPE");
    if (type == "WordPiece") return read_wordpiece(model, parts, path, sum);
    if (type != "BPE")
        return make_error("%s: unsupported tokenizer model type '%s' (BPE and WordPiece are)",
                          path.c_str(), type.c_str());
    if (!json_string(model, "continuing_subword_prefix").empty() ||
        !json_string(model, "end_of_word_suffix").empty())
        return make_error("%s: BPE continuing_subword_prefix/end_of_word_suffix are not supported",
                          path.c_str());
    simdjson::dom::object vocab;
    if (model["vocab"].get_object().get(vocab) != simdjson::SUCCESS)
        return make_error("%s: model.vocab is missing or not an object", path.c_str());

    const bool byte_level = parts.pre.byte_level();
    std::vector<std::string> keys;
    for (auto field : vocab) {
        int64_t id = -1;
        if (field.value.get_int64().get(id) != simdjson::SUCCESS || id < 0 || id > (1 << 24))
            return make_error("%s: vocab entry has a bad id", path.c_str());
        if (static_cast<size_t>(id) >= keys.size()) keys.resize(static_cast<size_t>(id) + 1);
        if (static_cast<size_t>(id) >= parts.id_to_text.size())
            parts.id_to_text.resize(static_cast<size_t>(id) + 1);
        parts.id_to_text[static_cast<size_t>(id)] = std::string(field.key);
        if (byte_level) {
            std::string raw;
            byte_level_to_bytes(field.key, raw);
            keys[static_cast<size_t>(id)] = std::move(raw);
        } else {
            keys[static_cast<size_t>(id)] = std::string(field.key);
        }
    }

    bpe_options opts;
    opts.byte_level = byte_level;
    opts.byte_fallback = json_bool(model, "byte_fallback", false);
    opts.fuse_unk = json_bool(model, "fuse_unk", false);
    opts.ignore_merges = json_bool(model, "ignore_merges", false);
    const std::string unk = json_string(model, "unk_token");
    if (!unk.empty()) {
        auto it = std::find(parts.id_to_text.begin(), parts.id_to_text.end(), unk);
        if (it != parts.id_to_text.end())
            opts.unk_id = static_cast<int32_t>(it - parts.id_to_text.begin());
    }
    auto m = std::make_unique<bpe_model>(keys, opts);

    simdjson::dom::array merges;
    if (model["merges"].get_array().get(merges) != simdjson::SUCCESS)
        return make_error("%s: model.merges is missing", path.c_str());
    m->reserve_merges(merges.size());
    int32_t rank = 0;
    std::string left, right, joined;
    for (element e : merges) {
        std::string_view s;
        if (e.get_string().get(s) == simdjson::SUCCESS) {  // "a b"
            const size_t sp = s.find(' ', 1);
            if (sp == std::string_view::npos)
                return make_error("%s: merge %d '%.*s' has no space", path.c_str(), rank,
                                  static_cast<int>(s.size()), s.data());
            left = s.substr(0, sp);
            right = s.substr(sp + 1);
        } else {  // ["a", "b"]
            std::string_view a, b;
            if (e.at(0).get_string().get(a) != simdjson::SUCCESS ||
                e.at(1).get_string().get(b) != simdjson::SUCCESS)
                return make_error("%s: merge %d is neither \"a b\" nor [a, b]", path.c_str(), rank);
            left = a;
            right = b;
        }
        joined = left + right;
        if (byte_level) {  // the model's keys are raw bytes
            std::string l, r, j;
            byte_level_to_bytes(left, l);
            byte_level_to_bytes(right, r);
            left.swap(l);
            right.swap(r);
            byte_level_to_bytes(joined, j);
            joined.swap(j);
        }
        const int32_t li = m->find(left), ri = m->find(right), ji = m->find(joined);
        if (li < 0 || ri < 0 || ji < 0)
            return make_error("%s: merge %d uses a token missing from the vocabulary", path.c_str(),
                              rank);
        m->add_merge(li, ri, ji, rank++);
    }
    sum.num_merges = m->num_merges();
    sum.byte_fallback = opts.byte_fallback;
    sum.unk_id = opts.unk_id;
    parts.model = std::move(m);
    return {};
}

}  // namespace

result<std::unique_ptr<tokenizer>> tokenizer::from_hf(const std::string& path) {
    simdjson::dom::parser parser;
    element doc;
    if (auto st = load_json_file(parser, path, doc); !st) return st.err();

    tokenizer_parts parts;
    element e;
    if (doc["normalizer"].get(e) == simdjson::SUCCESS)
        if (auto st = build_normalizer(e, parts.norm); !st)
            return make_error("%s: %s", path.c_str(), st.message().c_str());
    if (doc["pre_tokenizer"].get(e) == simdjson::SUCCESS)
        if (auto st = build_pre_tokenizer(e, parts.pre); !st)
            return make_error("%s: %s", path.c_str(), st.message().c_str());
    if (doc["decoder"].get(e) == simdjson::SUCCESS)
        if (auto st = build_decoder(e, parts.dec); !st)
            return make_error("%s: %s", path.c_str(), st.message().c_str());
    post_template post;
    if (doc["post_processor"].get(e) == simdjson::SUCCESS) {
        auto p = build_post_processor(e);
        if (!p) return make_error("%s: %s", path.c_str(), p.message().c_str());
        post = *p;
    }
    if (doc["model"].get(e) != simdjson::SUCCESS)
        return make_error("%s: no model section", path.c_str());
    model_summary model_sum;
    if (auto st = read_model(e, parts, path, model_sum); !st) return st.err();
    parts.attrs.assign(parts.id_to_text.size(), attr_normal);
    if (model_sum.byte_fallback)
        for (size_t id = 0; id < parts.id_to_text.size(); ++id) {
            const auto& t = parts.id_to_text[id];
            if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>')
                parts.attrs[id] |= attr_byte;
        }
    if (model_sum.unk_id >= 0) parts.attrs[static_cast<size_t>(model_sum.unk_id)] |= attr_unknown;

    simdjson::dom::array added;
    if (doc["added_tokens"].get_array().get(added) == simdjson::SUCCESS) {
        for (element a : added) {
            added_token t;
            int64_t id = -1;
            if (a["id"].get_int64().get(id) != simdjson::SUCCESS || id < 0 || id > (1 << 24))
                return make_error("%s: added token without a valid id", path.c_str());
            t.id = static_cast<int32_t>(id);
            t.content = json_string(a, "content");
            t.special = json_bool(a, "special", false);
            t.lstrip = json_bool(a, "lstrip", false);
            t.rstrip = json_bool(a, "rstrip", false);
            t.single_word = json_bool(a, "single_word", false);
            t.normalized = json_bool(a, "normalized", false);
            if (static_cast<size_t>(id) >= parts.id_to_text.size()) {
                parts.id_to_text.resize(static_cast<size_t>(id) + 1);
                parts.attrs.resize(static_cast<size_t>(id) + 1, attr_unused);
            }
            parts.id_to_text[static_cast<size_t>(id)] = t.content;
            parts.attrs[static_cast<size_t>(id)] =
                static_cast<uint8_t>((parts.attrs[static_cast<size_t>(id)] & ~attr_unused) |
                                     (t.special ? attr_special : attr_added));
            parts.added.add(std::move(t));
        }
    }

    // lookups by spelling for the post-processor and tokenizer_config.json
    auto id_of = [&](const std::string& s) -> int32_t {
        for (const auto& t : parts.added.tokens())
            if (t.content == s) return t.id;
        auto it = std::find(parts.id_to_text.begin(), parts.id_to_text.end(), s);
        return it == parts.id_to_text.end() ? -1
                                            : static_cast<int32_t>(it - parts.id_to_text.begin());
    };
    for (const auto& s : post.prefix) {
        const int32_t id = id_of(s);
        if (id < 0)
            return make_error("%s: post_processor token '%s' is not in the vocabulary",
                              path.c_str(), s.c_str());
        parts.prefix_ids.push_back(id);
    }
    for (const auto& s : post.suffix) {
        const int32_t id = id_of(s);
        if (id < 0)
            return make_error("%s: post_processor token '%s' is not in the vocabulary",
                              path.c_str(), s.c_str());
        parts.suffix_ids.push_back(id);
    }

    const std::filesystem::path dir = std::filesystem::path(path).parent_path();
    simdjson::dom::parser cfg_parser;
    element cfg;
    const bool have_cfg =
        std::filesystem::exists(dir / "tokenizer_config.json") &&
        load_json_file(cfg_parser, (dir / "tokenizer_config.json").string(), cfg).ok();
    int32_t eos_id = -1;
    if (have_cfg) {
        const std::string bos = config_token(cfg, "bos_token"),
                          eos = config_token(cfg, "eos_token");
        if (!bos.empty()) parts.bos_id = id_of(bos);
        if (!eos.empty()) eos_id = id_of(eos);
        // transformers' Llama/GPT tokenizers rebuild the post-processor from these flags
        const int add_bos = config_flag(cfg, "add_bos_token"),
                  add_eos = config_flag(cfg, "add_eos_token");
        auto& pre = parts.prefix_ids;
        auto& suf = parts.suffix_ids;
        if (parts.bos_id >= 0 && add_bos == 1 &&
            std::find(pre.begin(), pre.end(), parts.bos_id) == pre.end())
            pre.insert(pre.begin(), parts.bos_id);
        if (parts.bos_id >= 0 && add_bos == 0)
            pre.erase(std::remove(pre.begin(), pre.end(), parts.bos_id), pre.end());
        if (eos_id >= 0 && add_eos == 1 && std::find(suf.begin(), suf.end(), eos_id) == suf.end())
            suf.push_back(eos_id);
        if (eos_id >= 0 && add_eos == 0)
            suf.erase(std::remove(suf.begin(), suf.end(), eos_id), suf.end());
        std::string_view tmpl;
        simdjson::dom::array tmpls;
        if (cfg["chat_template"].get_string().get(tmpl) == simdjson::SUCCESS) {
            parts.chat_template = std::string(tmpl);
        } else if (cfg["chat_template"].get_array().get(tmpls) == simdjson::SUCCESS) {
            for (element t : tmpls)  // [{"name": "default", "template": "..."}, ...]
                if (json_string(t, "name") == "default")
                    parts.chat_template = json_string(t, "template");
        }
    }
    if (parts.chat_template.empty() && std::filesystem::exists(dir / "chat_template.jinja"))
        parts.chat_template = read_text_file_or_empty(dir / "chat_template.jinja");
    if (eos_id >= 0) parts.eos_ids.push_back(eos_id);
    simdjson::dom::parser gen_parser;
    element gen;
    if (std::filesystem::exists(dir / "generation_config.json") &&
        load_json_file(gen_parser, (dir / "generation_config.json").string(), gen).ok()) {
        std::vector<int64_t> ids;
        int64_t one = -1;
        simdjson::dom::array many;
        if (gen["eos_token_id"].get_int64().get(one) == simdjson::SUCCESS)
            ids.push_back(one);
        else if (gen["eos_token_id"].get_array().get(many) == simdjson::SUCCESS)
            for (element x : many)
                if (x.get_int64().get(one) == simdjson::SUCCESS) ids.push_back(one);
        for (int64_t id : ids)
            if (id >= 0 && id < static_cast<int64_t>(parts.id_to_text.size()) &&
                std::find(parts.eos_ids.begin(), parts.eos_ids.end(), id) == parts.eos_ids.end())
                parts.eos_ids.push_back(static_cast<int32_t>(id));
        if (parts.bos_id < 0 && gen["bos_token_id"].get_int64().get(one) == simdjson::SUCCESS &&
            one >= 0 && one < static_cast<int64_t>(parts.id_to_text.size()))
            parts.bos_id = static_cast<int32_t>(one);
    }
    const std::string num_tokens = std::to_string(parts.id_to_text.size()) + " tokens";
    if (model_sum.wordpiece)
        parts.description = "tokenizer.json WordPiece (" + num_tokens + ")";
    else
        parts.description =
            "tokenizer.json BPE (" +
            std::string(parts.pre.byte_level() ? "byte-level" : "sentencepiece-style") + ", " +
            num_tokens + ", " + std::to_string(model_sum.num_merges) + " merges)";
    return std::make_unique<tokenizer>(std::move(parts));
}

}  // namespace actorlm
