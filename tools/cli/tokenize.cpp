// `actorlm tokenize` and `actorlm detokenize`: text <-> ids with a model's tokenizer
// (a GGUF file, an HF model directory or a tokenizer.json), for checking prompts by hand.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "command_registry.hpp"
#include "tokenizer/tokenizer.hpp"

namespace {

struct options {
    std::string model, text, ids;
    bool special = false, no_bos = false, pieces = false, skip_special = false, ok = true;
};

options parse(const std::vector<std::string>& args, const char* usage) {
    options o;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&](std::string& dst) {
            if (i + 1 >= args.size()) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                o.ok = false;
                return;
            }
            dst = args[++i];
        };
        if (a == "--model") value(o.model);
        else if (a == "--text") value(o.text);
        else if (a == "--file") {
            std::string path;
            value(path);
            std::ifstream in(path, std::ios::binary);
            if (!in) {
                std::fprintf(stderr, "cannot read %s\n", path.c_str());
                o.ok = false;
            }
            std::ostringstream ss;
            ss << in.rdbuf();
            o.text = ss.str();
        } else if (a == "--ids") value(o.ids);
        else if (a == "--special") o.special = true;
        else if (a == "--no-bos") o.no_bos = true;
        else if (a == "--pieces") o.pieces = true;
        else if (a == "--skip-special") o.skip_special = true;
        else {
            std::fprintf(stderr, "%s", usage);
            o.ok = false;
        }
    }
    if (o.ok && o.model.empty()) {
        std::fprintf(stderr, "%s", usage);
        o.ok = false;
    }
    return o;
}

const char* k_tokenize_usage =
    "usage: actorlm tokenize --model M (--text T | --file F) [--special] [--no-bos] [--pieces]\n"
    "  M: a .gguf file, an HF model directory or a tokenizer.json\n"
    "  --special parses special tokens written in the text; --no-bos adds no BOS/EOS;\n"
    "  --pieces prints id<TAB>piece lines instead of one line of ids\n";

const char* k_detokenize_usage =
    "usage: actorlm detokenize --model M --ids \"1 2 3\" (or 1,2,3) [--skip-special]\n";

int run_tokenize(const std::vector<std::string>& args) {
    const options o = parse(args, k_tokenize_usage);
    if (!o.ok) return 2;
    auto tok = actorlm::load_tokenizer_for_model(o.model);
    if (!tok) {
        std::fprintf(stderr, "actorlm tokenize: %s\n", tok.message().c_str());
        return 1;
    }
    const auto ids = (*tok)->encode(o.text, !o.no_bos, o.special);
    if (o.pieces) {
        for (int32_t id : ids) std::printf("%d\t%s\n", id, (*tok)->token_to_piece(id).c_str());
        return 0;
    }
    for (size_t i = 0; i < ids.size(); ++i) std::printf(i ? " %d" : "%d", ids[i]);
    std::printf("\n");
    return 0;
}

int run_detokenize(const std::vector<std::string>& args) {
    const options o = parse(args, k_detokenize_usage);
    if (!o.ok) return 2;
    auto tok = actorlm::load_tokenizer_for_model(o.model);
    if (!tok) {
        std::fprintf(stderr, "actorlm detokenize: %s\n", tok.message().c_str());
        return 1;
    }
    std::vector<int32_t> ids;
    // Ids may be separated by spaces or commas ("1 2 3", "1,2,3", "[1, 2, 3]").
    std::string list = o.ids;
    for (char& c : list)
        if (c == ',' || c == '[' || c == ']') c = ' ';
    std::istringstream in(list);
    long v = 0;
    while (in >> v) {
        if (v < 0 || v >= (*tok)->vocab_size()) {
            std::fprintf(stderr, "actorlm detokenize: id %ld is outside the vocabulary (0..%d)\n", v,
                         (*tok)->vocab_size() - 1);
            return 1;
        }
        ids.push_back(static_cast<int32_t>(v));
    }
    if (!in.eof()) {
        std::fprintf(stderr, "actorlm detokenize: --ids must be integers, got '%s'\n",
                     o.ids.c_str());
        return 1;
    }
    std::printf("%s\n", (*tok)->decode(ids, o.skip_special).c_str());
    return 0;
}

actorlm::cli::command_registration reg_tok("tokenize", "text -> token ids with a model's tokenizer", run_tokenize);
actorlm::cli::command_registration reg_detok("detokenize", "token ids -> text with a model's tokenizer", run_detokenize);

}  // namespace
