// tokenizer::from_gguf: builds a tokenizer from a GGUF file's tokenizer.ggml.* metadata.
// "llama" vocabularies become SentencePiece-style BPE ranked by token score with byte
// fallback; "gpt2" vocabularies become byte-level BPE with the merges list and the regex set
// of their tokenizer.ggml.pre family; "bert" vocabularies become WordPiece ([CLS] x [SEP]).
// Defaults follow llama.cpp where a key is absent.
// Runs on the loading thread; the result is immutable.
#include <algorithm>

#include "model/gguf_file.hpp"
#include "tokenizer/gguf_pre.hpp"
#include "tokenizer/gguf_wordpiece.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/utf8.hpp"

namespace actorlm {

using namespace tok;

namespace {

// GGUF token types (llama.cpp's llama_token_type)
enum : int32_t {
    type_normal = 1,
    type_unknown = 2,
    type_control = 3,
    type_user_defined = 4,
    type_unused = 5,
    type_byte = 6
};

const char* const k_space_marker = "\xE2\x96\x81";  // U+2581, SentencePiece's space

int32_t id_or(const gguf_file& f, const char* key, int32_t fallback, size_t n) {
    const auto v = f.get_int(key);
    if (!v) return fallback;
    return *v >= 0 && static_cast<size_t>(*v) < n ? static_cast<int32_t>(*v) : -1;
}

}  // namespace

result<std::unique_ptr<tokenizer>> tokenizer::from_gguf(const gguf_file& f) {
    const auto model_name = f.get_string("tokenizer.ggml.model");
    if (!model_name)
        return make_error("%s: no tokenizer.ggml.model key (no vocabulary)", f.path().c_str());
    const bool spm = *model_name == "llama";
    const bool bert = *model_name == "bert";
    if (!spm && !bert && *model_name != "gpt2")
        return make_error(
            "%s: unsupported GGUF tokenizer model '%s' (supported: llama, gpt2, bert)",
            f.path().c_str(), model_name->c_str());
    std::vector<std::string> tokens = f.get_string_array("tokenizer.ggml.tokens");
    if (tokens.empty())
        return make_error("%s: tokenizer.ggml.tokens is missing or empty", f.path().c_str());
    const size_t n = tokens.size();
    std::vector<float> scores = f.get_float_array("tokenizer.ggml.scores");
    std::vector<int32_t> types = f.get_int_array("tokenizer.ggml.token_type");
    if (!scores.empty() && scores.size() != n)
        return make_error("%s: tokenizer.ggml.scores has %zu entries for %zu tokens",
                          f.path().c_str(), scores.size(), n);
    if (!types.empty() && types.size() != n)
        return make_error("%s: tokenizer.ggml.token_type has %zu entries for %zu tokens",
                          f.path().c_str(), types.size(), n);
    if (types.empty()) types.assign(n, type_normal);

    tokenizer_parts parts;
    parts.id_to_text = tokens;
    parts.attrs.assign(n, attr_normal);
    std::vector<std::string> keys(n);
    for (size_t id = 0; id < n; ++id) {
        uint8_t a = attr_normal;
        switch (types[id]) {
            case type_unknown: a = attr_unknown | attr_special; break;  // HF marks <unk> special
            case type_control: a = attr_special; break;
            case type_user_defined: a = attr_added; break;
            case type_unused: a = attr_unused; break;
            case type_byte: a = attr_byte; break;
            default: break;
        }
        parts.attrs[id] = a;
        // control and user-defined tokens are matched as added tokens, never built by merges
        if ((a & (attr_special | attr_added)) && !(a & attr_unknown)) {
            added_token t;
            t.content = tokens[id];
            t.id = static_cast<int32_t>(id);
            t.special = (a & attr_special) != 0;
            parts.added.add(std::move(t));
        } else if (a & attr_unknown) {
            added_token t;  // <unk> written in the text is recognized only as a special token
            t.content = tokens[id];
            t.id = static_cast<int32_t>(id);
            t.special = true;
            parts.added.add(std::move(t));
            keys[id] = tokens[id];
        } else if (spm) {
            keys[id] = tokens[id];
        } else if (bert) {
            keys[id] = wordpiece_key_from_gguf(tokens[id]);
        } else {
            byte_level_to_bytes(tokens[id], keys[id]);
        }
    }

    // llama.cpp's bert defaults: [UNK] 100, [CLS] 101 as BOS, no EOS, [SEP] 102 appended
    const int32_t unk = id_or(f, "tokenizer.ggml.unknown_token_id", spm ? 0 : bert ? 100 : -1, n);
    const int32_t bos = id_or(f, "tokenizer.ggml.bos_token_id", spm ? 1 : bert ? 101 : 11, n);
    const int32_t eos = id_or(f, "tokenizer.ggml.eos_token_id", spm ? 2 : bert ? -1 : 11, n);
    bool add_bos = spm || bert;
    const auto pre_name = f.get_string("tokenizer.ggml.pre").value_or("");
    if (spm) {
        bpe_options o;
        o.byte_fallback = true;
        o.unk_id = unk;
        auto model = std::make_unique<bpe_model>(keys, o);
        if (scores.empty()) scores.assign(n, 0.0f);
        model->merges_from_scores(scores);
        parts.model = std::move(model);
        const bool space_prefix = f.get_bool("tokenizer.ggml.add_space_prefix").value_or(true);
        if (space_prefix)
            parts.norm.add({normalizer_step::kind::prepend, k_space_marker, {}, nullptr});
        parts.norm.add({normalizer_step::kind::replace, " ", k_space_marker, nullptr});
        decoder_step rep;
        rep.what = decoder_step::kind::replace;
        rep.pattern = k_space_marker;
        rep.content = " ";
        parts.dec.add(rep);
        parts.dec.add({decoder_step::kind::byte_fallback});
        parts.dec.add({decoder_step::kind::fuse});
        if (space_prefix) {
            decoder_step strip;
            strip.what = decoder_step::kind::strip;
            strip.content = " ";
            strip.strip_start = 1;
            parts.dec.add(strip);
        }
        parts.description =
            "GGUF llama (SentencePiece-style BPE, " + std::to_string(n) + " tokens)";
    } else if (bert) {
        set_gguf_wordpiece_stages(parts, keys, unk);
        if (unk >= 0) parts.attrs[static_cast<size_t>(unk)] |= attr_unknown;
        const int32_t sep = id_or(f, "tokenizer.ggml.seperator_token_id", 102, n);  // sic
        if (f.get_bool("tokenizer.ggml.add_sep_token").value_or(true) && sep >= 0)
            parts.suffix_ids.push_back(sep);
        parts.description = "GGUF bert (WordPiece, " + std::to_string(n) + " tokens)";
    } else {
        const gguf_pre_spec spec = gguf_pre_for(pre_name);
        add_bos = spec.add_bos;
        for (const auto& re : spec.regexes) {
            auto r = regex::compile(re);
            if (!r)
                return make_error("%s: pre-tokenizer '%s': %s", f.path().c_str(), pre_name.c_str(),
                                  r.message().c_str());
            pre_tokenizer_step s;
            s.re = *r;
            parts.pre.add(std::move(s));
        }
        pre_tokenizer_step bl;
        bl.what = pre_tokenizer_step::kind::byte_level;
        parts.pre.add(std::move(bl));
        bpe_options o;
        o.byte_level = true;
        o.ignore_merges = spec.ignore_merges;
        o.unk_id = unk;
        auto model = std::make_unique<bpe_model>(keys, o);
        const std::vector<std::string> merges = f.get_string_array("tokenizer.ggml.merges");
        if (merges.empty())
            return make_error("%s: gpt2 vocabulary without tokenizer.ggml.merges",
                              f.path().c_str());
        model->reserve_merges(merges.size());
        int32_t rank = 0;
        std::string l, r;
        for (const std::string& m : merges) {
            const size_t sp = m.find(' ', 1);
            if (sp == std::string::npos)
                return make_error("%s: merge %d '%s' has no space", f.path().c_str(), rank,
                                  m.c_str());
            l.clear();
            r.clear();
            byte_level_to_bytes(std::string_view(m).substr(0, sp), l);
            byte_level_to_bytes(std::string_view(m).substr(sp + 1), r);
            const int32_t li = model->find(l), ri = model->find(r), ji = model->find(l + r);
            if (li >= 0 && ri >= 0 && ji >= 0)
                model->add_merge(li, ri, ji, rank);  // llama.cpp skips others too
            ++rank;
        }
        parts.dec.add({decoder_step::kind::byte_level});
        parts.description = "GGUF gpt2 (byte-level BPE, pre '" + pre_name +
                            (spec.known ? "'" : "' unknown: default") + ", " + std::to_string(n) +
                            " tokens, " + std::to_string(model->num_merges()) + " merges)";
        parts.model = std::move(model);
    }
    add_bos = f.get_bool("tokenizer.ggml.add_bos_token").value_or(add_bos);
    const bool add_eos = f.get_bool("tokenizer.ggml.add_eos_token").value_or(false);
    parts.bos_id = bos;
    if (add_bos && bos >= 0) parts.prefix_ids.push_back(bos);
    if (add_eos && eos >= 0) parts.suffix_ids.push_back(eos);
    for (int32_t id : {eos, id_or(f, "tokenizer.ggml.eot_token_id", -1, n),
                       id_or(f, "tokenizer.ggml.eom_token_id", -1, n)})
        if (id >= 0 &&
            std::find(parts.eos_ids.begin(), parts.eos_ids.end(), id) == parts.eos_ids.end())
            parts.eos_ids.push_back(id);
    parts.chat_template = f.get_string("tokenizer.chat_template").value_or("");
    return std::make_unique<tokenizer>(std::move(parts));
}

}  // namespace actorlm
