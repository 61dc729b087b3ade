// GGUF pre-tokenizer families (see gguf_pre.hpp). Patterns are the models' own
// tokenizer.json regexes where PCRE2 runs them as written (case-insensitive groups and all);
// family membership follows llama.cpp's table of `tokenizer.ggml.pre` names.
#include "tokenizer/gguf_pre.hpp"

#include <algorithm>
#include <initializer_list>

namespace actorlm::tok {

namespace {

// GPT-2 / tiktoken r50k
const char* const k_gpt2 =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
// Llama-3 / tiktoken cl100k (numbers in groups of up to three)
const char* const k_llama3 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
// Qwen2: as Llama-3 but one digit per piece
const char* const k_qwen2 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const k_seed_coder =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| "
    "?[^\\s\\p{L}\\p{N}\\r\\n]+|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const k_bailing =
    "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]++[\\r\\n]*|\\s*[\\r\\n]|"
    "\\s+(?!\\S)|\\s+";
const char* const k_tekken =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|"
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{"
    "N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const k_gpt4o =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'"
    "s|'t|'re|'ve|'m|'ll|'d)?|"
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'"
    "s|'t|'re|'ve|'m|'ll|'d)?|"
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const k_bloom = " ?[^(\\s|.,!?\u2026\u3002\uff0c\u3001\u0964\u06d4\u060c)]+";
const char* const k_cjk = "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+";
const char* const k_deepseek3_words =
    "[!\"#$%&'()*+,\\-./"
    ":;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
    "?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

bool is_one_of(const std::string& name, std::initializer_list<const char*> names) {
    return std::any_of(names.begin(), names.end(), [&](const char* n) { return name == n; });
}

}  // namespace

gguf_pre_spec gguf_pre_for(const std::string& name) {
    gguf_pre_spec s;
    if (is_one_of(name, {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral",
                         "midm-2.0", "lfm2"})) {
        s.regexes = {k_llama3};
        s.ignore_merges = true;
        s.add_bos = true;
    } else if (is_one_of(name, {"dbrx", "smaug-bpe", "glm4", "chatglm-bpe"})) {
        s.regexes = {k_llama3};
    } else if (name == "deepseek-llm") {
        // Latin/Greek/Cyrillic... letters as listed by DeepSeek's tokenizer.json, then
        // ASCII and full-width punctuation, trailing spaces, CJK, digits
        s.regexes = {
            "[\r\n]",
            "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-"
            "\u0293\u0295-\u02af"
            "\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-"
            "\u03a1\u03a3-\u03f5"
            "\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-"
            "\u1cba"
            "\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-"
            "\u1f45"
            "\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-"
            "\u1fbc\u1fbe"
            "\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-"
            "\u1ffc"
            "\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-"
            "\u2134\u2139"
            "\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-"
            "\u2cee\u2cf2\u2cf3"
            "\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-"
            "\ufb06"
            "\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\U00010400-\U0001044f\U000104b0-\U000104d3"
            "\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-\U00010cf2\U000118a0-\U000118df"
            "\U0001e900-\U0001e943]+",
            "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+",
            "\\s+$",
            k_cjk,
            "\\p{N}+"};
    } else if (name == "deepseek-coder") {
        s.regexes = {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", k_cjk, "\\p{N}"};
    } else if (is_one_of(name, {"deepseek-v3", "hunyuan-dense"})) {
        s.regexes = {"\\p{N}{1,3}", "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+",
                     k_deepseek3_words};
    } else if (name == "falcon") {
        s.regexes = {"[\\p{P}\\$\\+<=>\\^~\\|`]+", k_gpt2, "[0-9][0-9][0-9]"};
    } else if (is_one_of(name, {"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone",
                                "minerva-7b"})) {
        s.regexes = {"\\p{N}", k_gpt2};
    } else if (is_one_of(name, {"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es",
                                "jina-v2-de", "a.x-4.0", "mellum", "jina-v1-en", "jina-v2-code",
                                "roberta-bpe", "mpt", "olmo", "jais", "trillion", "granite-docling",
                                "exaone4"})) {
        s.regexes = {k_gpt2};
    } else if (is_one_of(name, {"qwen2", "deepseek-r1-qwen", "kormo", "stablelm2", "megrez",
                                "hunyuan", "grok-2"})) {
        s.regexes = {k_qwen2};
    } else if (is_one_of(name, {"poro-chat", "bloom", "gpt3-finnish"})) {
        s.regexes = {k_bloom};
    } else if (name == "viking") {
        s.regexes = {k_bloom, "\\p{N}"};
    } else if (name == "tekken") {
        s.regexes = {k_tekken};
        s.ignore_merges = true;
        s.add_bos = true;
    } else if (is_one_of(name, {"gpt-4o", "llama4", "minimax-m2"})) {
        s.regexes = {k_gpt4o};
    } else if (name == "seed-coder") {
        s.regexes = {k_seed_coder};
    } else if (is_one_of(name, {"bailingmoe", "bailingmoe2", "llada-moe"})) {
        s.regexes = {k_bailing};
    } else {
        s.known = name.empty() || name == "default";
        s.regexes = {"[\\p{P}\\$\\+<=>\\^~\\|]+", k_gpt2, "\\p{N}+", "[0-9][0-9][0-9]"};
    }
    return s;
}

}  // namespace actorlm::tok
