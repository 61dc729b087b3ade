// Vocab generation. Merge ranks matter: chains for space-prefixed words come
// first, so a pre-tokenized " word" (one 'Ġ'-led piece) is built left to right
// by its own chain and no later merge can split it; bare words may split.
#include "model/test_model_vocab.hpp"

#include <array>
#include <cctype>
#include <cstdio>
#include <sstream>
#include <unordered_set>

#include "base/json_string.hpp"

namespace actorlm {

const char* const k_test_chat_template =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

namespace {

const char* const k_specials[] = {
    "<|endoftext|>",    "<|im_start|>",    "<|im_end|>",     "<repo_name>",    "<reponame>",
    "<file_sep>",       "<filename>",      "<gh_stars>",     "<issue_start>",  "<issue_comment>",
    "<issue_closed>",   "<jupyter_start>", "<jupyter_text>", "<jupyter_code>", "<jupyter_output>",
    "<jupyter_script>", "<empty_output>"};

const char* const k_common_words =
    "the of and to a in is it you that he was for on are with as I his they be at one have "
    "this from or had by hot word but what some we can out other were all there when up use "
    "your how said an each she which do their time if will way about many then them write "
    "would like so these her long make thing see him two has look more day could go come did "
    "number sound no most people my over know water than call first who may down side been "
    "now find any new work part take get place made live where after back little only round "
    "man year came show every good me give our under name very through just form sentence "
    "great think say help low line differ turn cause much mean before move right boy old too "
    "same tell does set three want air well also play small end put home read hand port large "
    "spell add even land here must big high such follow act why ask men change went light kind "
    "off need house picture try us again animal point mother world near build self earth "
    "father hello model token server request response stream prompt test data value";

// GPT-2's reversible byte -> printable code point map, as UTF-8 strings.
const std::array<std::string, 256>& byte_table() {
    static const std::array<std::string, 256> table = [] {
        std::array<std::string, 256> t;
        std::array<bool, 256> printable{};
        for (int b = '!'; b <= '~'; ++b) printable[b] = true;
        for (int b = 0xa1; b <= 0xac; ++b) printable[b] = true;
        for (int b = 0xae; b <= 0xff; ++b) printable[b] = true;
        int extra = 0;
        for (int b = 0; b < 256; ++b) {
            uint32_t cp = printable[b] ? uint32_t(b) : uint32_t(256 + extra++);
            std::string s;
            if (cp < 0x80) {
                s += char(cp);
            } else {
                s += char(0xc0 | (cp >> 6));
                s += char(0x80 | (cp & 0x3f));
            }
            t[b] = s;
        }
        return t;
    }();
    return table;
}

// Splits byte-level text into its characters (each 1 or 2 UTF-8 bytes here).
std::vector<std::string> chars_of(const std::string& s) {
    std::vector<std::string> out;
    for (size_t i = 0; i < s.size();) {
        size_t n = (uint8_t(s[i]) & 0x80) ? 2 : 1;
        out.push_back(s.substr(i, n));
        i += n;
    }
    return out;
}

// The 64-bit LCG of make_gguf.py (stable across platforms, unlike std distributions).
struct lcg {
    uint64_t s;
    explicit lcg(uint64_t seed) : s(seed * 6364136223846793005ull + 1442695040888963407ull) {}
    uint64_t below(uint64_t n) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        return (s >> 33) % n;
    }
};

std::string capitalize(std::string w) {
    if (!w.empty()) w[0] = char(std::toupper(uint8_t(w[0])));
    return w;
}

}  // namespace

std::string byte_level_encode(const std::string& bytes) {
    std::string out;
    for (unsigned char b : bytes) out += byte_table()[b];
    return out;
}

result<test_vocab> make_test_vocab(int64_t vocab_size, uint64_t seed) {
    test_vocab v;
    const size_t num_specials = vocab_size >= 2048 ? std::size(k_specials) : 3;
    if (vocab_size < int64_t(num_specials + 256))
        return make_error("vocab size %lld is too small for a byte-level vocab (need >= %zu)",
                          (long long)vocab_size, num_specials + 256);
    for (size_t i = 0; i < num_specials; ++i) {
        v.tokens.push_back(k_specials[i]);
        v.token_types.push_back(3);
    }
    v.num_specials = int64_t(num_specials);
    for (int b = 0; b < 256; ++b) {
        v.tokens.push_back(byte_table()[b]);
        v.token_types.push_back(1);
    }
    std::unordered_set<std::string> have(v.tokens.begin(), v.tokens.end());
    const size_t target = size_t(vocab_size);
    // Adds the left-to-right chain of merges that builds `w`; false once the vocab is full.
    auto add_word = [&](const std::string& w) {
        std::vector<std::string> cs = chars_of(w);
        std::string prefix = cs[0];
        for (size_t i = 1; i < cs.size(); ++i) {
            std::string next = prefix + cs[i];
            if (!have.count(next)) {
                if (v.tokens.size() >= target) return false;
                v.merges.push_back(prefix + " " + cs[i]);
                v.tokens.push_back(next);
                v.token_types.push_back(1);
                have.insert(next);
            }
            prefix = next;
        }
        return true;
    };
    std::vector<std::string> common;
    std::istringstream in(k_common_words);
    for (std::string w; in >> w;) common.push_back(w);
    std::vector<std::string> words;
    for (const std::string& w : common) {
        words.push_back(byte_level_encode(std::string(1, ' ').append(w)));
        words.push_back(byte_level_encode(std::string(1, ' ').append(capitalize(w))));
    }
    for (const char* s : {"  ", "    ", "        ", "\n\n", ".\n", ". ", "\n  ", "()", "):"})
        words.push_back(byte_level_encode(s));
    for (const std::string& w : common) words.push_back(byte_level_encode(w));
    for (char a = 'a'; a <= 'z'; ++a) {
        words.push_back(byte_level_encode(std::string(" ") + a));
        for (char b = 'a'; b <= 'z'; ++b) words.push_back(byte_level_encode(std::string{a, b}));
    }
    bool ok = true;
    for (const std::string& w : words)
        if (ok && chars_of(w).size() > 1) ok = add_word(w);
    static const char* const onsets[] = {
        "",   "b",  "c",  "d",  "f",  "g",  "h",  "j",  "k",   "l",  "m",  "n",  "p",
        "r",  "s",  "t",  "v",  "w",  "y",  "z",  "br", "ch",  "cl", "cr", "dr", "fl",
        "fr", "gr", "pl", "pr", "sh", "sl", "sp", "st", "str", "th", "tr", "wh"};
    static const char* const nuclei[] = {"a",  "e",  "i",  "o",  "u",  "ai",
                                         "ea", "ee", "io", "oo", "ou", "y"};
    static const char* const codas[] = {"",  "",   "",   "n",  "r",  "s",  "t",  "l",
                                        "m", "nd", "ng", "nt", "rs", "st", "ck", "x"};
    lcg rng(seed);
    // Pseudo-words: the space of distinct words is far larger than any vocab we make, but
    // bound the attempts so a pathological request cannot loop forever.
    for (uint64_t attempts = 0; ok && v.tokens.size() < target; ++attempts) {
        if (attempts > 100 * target + 100000)
            return make_error("could not generate %lld distinct tokens", (long long)vocab_size);
        std::string w;
        for (uint64_t s = 0, n = 1 + rng.below(3); s < n; ++s) {
            w += onsets[rng.below(std::size(onsets))];
            w += nuclei[rng.below(std::size(nuclei))];
            w += codas[rng.below(std::size(codas))];
        }
        if (rng.below(4) == 0) w = capitalize(w);
        if (rng.below(3) != 0) w = std::string(1, ' ').append(w);
        std::string enc = byte_level_encode(w);
        if (chars_of(enc).size() > 1) ok = add_word(enc);
    }
    v.bos_token_id = 0;
    v.eos_token_id = 0;
    return v;
}

std::string test_vocab_tokenizer_json(const test_vocab& v) {
    std::string j = "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n";
    j += "  \"added_tokens\": [";
    for (int64_t i = 0; i < v.num_specials; ++i) {
        j += i ? ",\n    " : "\n    ";
        j += "{\"id\": " + std::to_string(i) +
             ", \"content\": " + json_quoted(v.tokens[size_t(i)]) +
             ", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
             "\"normalized\": false, \"special\": true}";
    }
    j += "\n  ],\n  \"normalizer\": null,\n";
    j += "  \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, "
         "\"trim_offsets\": true, \"use_regex\": true},\n";
    j += "  \"post_processor\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, "
         "\"trim_offsets\": false, \"use_regex\": true},\n";
    j += "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, "
         "\"trim_offsets\": true, \"use_regex\": true},\n";
    j += "  \"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, "
         "\"continuing_subword_prefix\": null, \"end_of_word_suffix\": null, "
         "\"fuse_unk\": false, \"byte_fallback\": false, \"ignore_merges\": false,\n";
    j += "    \"vocab\": {";
    for (size_t i = 0; i < v.tokens.size(); ++i) {
        j += i ? ", " : "";
        j += json_quoted(v.tokens[i]) + ": " + std::to_string(i);
    }
    j += "},\n    \"merges\": [";
    for (size_t i = 0; i < v.merges.size(); ++i) {
        j += i ? ", " : "";
        j += json_quoted(v.merges[i]);
    }
    j += "]\n  }\n}\n";
    return j;
}

std::string test_vocab_tokenizer_config_json(const test_vocab& v, int64_t max_length) {
    const std::string& bos = v.tokens[size_t(v.bos_token_id)];
    const std::string& eos = v.tokens[size_t(v.eos_token_id)];
    std::string j = "{\n  \"add_bos_token\": false,\n  \"add_eos_token\": false,\n";
    j += "  \"bos_token\": " + json_quoted(bos) + ",\n  \"eos_token\": " + json_quoted(eos) +
         ",\n  \"unk_token\": " + json_quoted(eos) + ",\n  \"pad_token\": " + json_quoted(eos) +
         ",\n";
    j += "  \"clean_up_tokenization_spaces\": false,\n";
    j += "  \"model_max_length\": " + std::to_string(max_length) + ",\n";
    j += "  \"tokenizer_class\": \"GPT2Tokenizer\",\n";
    j += "  \"chat_template\": " + json_quoted(k_test_chat_template) + "\n}\n";
    return j;
}

}  // namespace actorlm
