// Embedding actorlm in your own program: load a model, stream one greedy
// completion to stdout, print the engine's stats. Built as `actorlm-embed-example`.
//
//   build/release/actorlm-embed-example ../shared/models/stories260K.gguf "Once upon a time"
#include <actorlm/engine.hpp>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s MODEL PROMPT\n", argv[0]);
        return 2;
    }
    actorlm::engine_config cfg;
    cfg.model_path = argv[1];
    std::string error;
    auto engine = actorlm::engine::create(cfg, &error);
    if (!engine) {
        std::fprintf(stderr, "cannot start the engine: %s\n", error.c_str());
        return 1;
    }
    actorlm::generate_request req;
    req.prompt = argv[2];
    req.params.temperature = 0.0f;
    req.params.max_tokens = 64;
    auto stream = engine->generate(std::move(req));
    actorlm::output_delta delta;
    std::printf("%s", argv[2]);
    while (stream.next(delta)) {
        std::printf("%s", delta.text.c_str());
        std::fflush(stdout);
        if (delta.finish == actorlm::finish_reason::error)
            std::fprintf(stderr, "\nerror: %s\n", delta.error.c_str());
    }
    actorlm::engine_stats stats = engine->stats();
    std::printf("\n[%lld prompt tokens, %lld generated]\n",
                static_cast<long long>(stats.prompt_tokens_total),
                static_cast<long long>(stats.generation_tokens_total));
    return 0;
}
