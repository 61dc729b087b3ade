// `actorlm tokenize` and `actorlm detokenize`: text <-> ids with a model's tokenizer
// (a GGUF file, an HF model directory or a tokenizer.json), for checking prompts by hand.
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "command_registry.hpp"
#include "tokenizer/tokenizer.hpp"

namespace tokenize_command {

struct options {
    std::string model, text, file, ids;
    bool special = false, no_bos = false, pieces = false, skip_special = false;
};

void add_model_option(CLI::App& app, options& o) {
    app.add_option("--model", o.model, "a .gguf file, an HF model directory or a tokenizer.json")
        ->required();
}

bool read_text(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return true;
}

// "1 2 3", "1,2,3" or "[1, 2, 3]" -> ids; false if anything else is in the text.
bool parse_ids(const std::string& text, std::vector<int64_t>& ids) {
    std::string list = text;
    for (char& c : list)
        if (c == ',' || c == '[' || c == ']') c = ' ';
    std::istringstream in(list);
    int64_t v = 0;
    while (in >> v) ids.push_back(v);
    return in.eof();
}

int run_tokenize(const options& o) {
    std::string text = o.text;
    if (!o.file.empty() && !read_text(o.file, text)) {
        std::fprintf(stderr, "actorlm tokenize: cannot read %s\n", o.file.c_str());
        return 1;
    }
    auto tok = actorlm::load_tokenizer_for_model(o.model);
    if (!tok) {
        std::fprintf(stderr, "actorlm tokenize: %s\n", tok.message().c_str());
        return 1;
    }
    const auto ids = (*tok)->encode(text, !o.no_bos, o.special);
    if (o.pieces) {
        for (int32_t id : ids) std::printf("%d\t%s\n", id, (*tok)->token_to_piece(id).c_str());
        return 0;
    }
    for (size_t i = 0; i < ids.size(); ++i) std::printf(i ? " %d" : "%d", ids[i]);
    std::printf("\n");
    return 0;
}

int run_detokenize(const options& o) {
    auto tok = actorlm::load_tokenizer_for_model(o.model);
    if (!tok) {
        std::fprintf(stderr, "actorlm detokenize: %s\n", tok.message().c_str());
        return 1;
    }
    std::vector<int64_t> parsed;
    parse_ids(o.ids, parsed);  // checked while parsing the options
    std::vector<int32_t> ids;
    for (int64_t v : parsed) {
        if (v < 0 || v >= (*tok)->vocab_size()) {
            std::fprintf(stderr, "actorlm detokenize: id %lld is outside the vocabulary (0..%d)\n",
                         static_cast<long long>(v), (*tok)->vocab_size() - 1);
            return 1;
        }
        ids.push_back(static_cast<int32_t>(v));
    }
    std::printf("%s\n", (*tok)->decode(ids, o.skip_special).c_str());
    return 0;
}

actorlm::cli::command_action setup_tokenize(CLI::App& app) {
    auto o = std::make_shared<options>();
    add_model_option(app, *o);
    CLI::Option* text = app.add_option("--text", o->text, "text to encode");
    app.add_option("--file", o->file, "encode this file's text instead")
        ->check(CLI::ExistingFile)
        ->excludes(text);
    app.add_flag("--special", o->special, "parse special tokens written in the text");
    app.add_flag("--no-bos", o->no_bos, "add no BOS/EOS");
    app.add_flag("--pieces", o->pieces, "print id<TAB>piece lines instead of one line of ids");
    return [o] { return run_tokenize(*o); };
}

actorlm::cli::command_action setup_detokenize(CLI::App& app) {
    auto o = std::make_shared<options>();
    add_model_option(app, *o);
    app.add_option("--ids", o->ids, "token ids: \"1 2 3\", 1,2,3 or [1, 2, 3]")
        ->required()
        ->check(CLI::Validator(
            [](std::string& text) -> std::string {
                std::vector<int64_t> ids;
                return parse_ids(text, ids) ? std::string()
                                            : "'" + text + "' is not a list of integers";
            },
            "", "token ids"));
    app.add_flag("--skip-special", o->skip_special, "leave special tokens out of the text");
    return [o] { return run_detokenize(*o); };
}

actorlm::cli::command_registration reg_tok("tokenize", "text -> token ids with a model's tokenizer",
                                           setup_tokenize);
actorlm::cli::command_registration reg_detok("detokenize",
                                             "token ids -> text with a model's tokenizer",
                                             setup_detokenize);

}  // namespace tokenize_command
