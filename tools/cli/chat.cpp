// `actorlm chat`: a terminal conversation (vLLM's `vllm chat`, llama.cpp's
// `llama-cli -cnv`) with a running server (--url, --api-key) or with an engine
// started in this process (--model). Replies stream as they are generated; the
// history goes with every turn; a line ending in '\' continues the message on the
// next line; /clear forgets the history, /exit (or Ctrl-D) quits; Ctrl-C stops the
// current answer — the request is aborted where it runs — without quitting.
#include <CLI/CLI.hpp>

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chat_backend.hpp"
#include "cli_values.hpp"
#include "command_registry.hpp"
#include "engine_options.hpp"
#include "hub_model_path.hpp"
#include "progress_display.hpp"

namespace chat_command {

using namespace actorlm;

struct chat_args {
    actorlm::cli::hub_revision revision;  // of a --model ORG/NAME
    std::string url = "http://127.0.0.1:8000";
    std::string api_key;
    std::string model_name;  // sent as "model" to the server
    std::string system;
    cli::chat_turn_settings settings;
    int64_t seed = -1;
    engine_config engine;  // --model and the engine flags: chat in this process
};

// Set by SIGINT; read by the reply loop (stop the answer) and the prompt (stay).
volatile sig_atomic_t g_interrupted = 0;

void on_sigint(int) { g_interrupted = 1; }

// SIGINT without SA_RESTART: a blocked read of the next line returns, so the prompt can
// tell Ctrl-C from Ctrl-D.
void catch_interrupts() {
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGINT, &sa, nullptr);
}

enum class input_kind { message, interrupted, end };

// One message: lines joined while they end in '\'. `end` at EOF (Ctrl-D).
input_kind read_message(std::string* message) {
    message->clear();
    std::fputs("> ", stdout);
    std::fflush(stdout);
    for (std::string line;;) {
        if (!std::getline(std::cin, line)) {
            if (g_interrupted) {
                g_interrupted = 0;
                std::cin.clear();
                clearerr(stdin);
                return input_kind::interrupted;
            }
            return message->empty() ? input_kind::end : input_kind::message;
        }
        if (!line.empty() && line.back() == '\\') {
            line.pop_back();
            *message += line + "\n";
            std::fputs(". ", stdout);
            std::fflush(stdout);
            continue;
        }
        *message += line;
        return input_kind::message;
    }
}

void print_piece(std::string_view piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
}

int run_chat(chat_args& a) {
    std::unique_ptr<cli::chat_backend> backend;
    std::string target;
    if (!a.engine.model_path.empty()) {
        std::string error;
        cli::progress_display display(stderr, "chat: weights", cli::progress_unit::bytes);
        engine_config loading = a.engine;
        loading.on_load_progress = [&display](const load_progress& p) {
            display.show(p.bytes_done, p.bytes_total);
        };
        std::shared_ptr<engine> eng = engine::create(loading, &error);
        if (!eng) {
            std::fprintf(stderr, "chat: cannot start the engine: %s\n", error.c_str());
            return 1;
        }
        backend = cli::make_engine_chat_backend(eng);
        target = a.engine.model_path;
    } else {
        const auto url = cli::parse_base_url(a.url).value();  // checked when parsed
        backend = cli::make_http_chat_backend(url.host, url.port, a.api_key, a.model_name);
        target = a.url;
    }
    if (a.seed >= 0) a.settings.seed = static_cast<uint64_t>(a.seed);
    catch_interrupts();
    std::printf("actorlm chat with %s. A line ending in \\ continues the message; /clear "
                "forgets the conversation, /exit quits; Ctrl-C stops an answer.\n",
                target.c_str());
    std::vector<chat_message> history;
    if (!a.system.empty()) history.push_back({"system", a.system});
    const bool tty = isatty(STDOUT_FILENO) != 0;
    for (std::string message;;) {
        const input_kind kind = read_message(&message);
        if (kind == input_kind::end) break;
        if (kind == input_kind::interrupted) {
            std::printf("\n(Ctrl-C stops an answer; /exit or Ctrl-D quits)\n");
            continue;
        }
        if (message == "/exit" || message == "/quit") break;
        if (message == "/clear") {
            history.resize(a.system.empty() ? 0 : 1);
            std::printf("(conversation cleared)\n");
            continue;
        }
        if (message.find_first_not_of(" \t\n") == std::string::npos) continue;
        history.push_back({"user", message});
        g_interrupted = 0;
        bool in_reasoning = false;
        auto reply = backend->reply(
            history, a.settings, [&](std::string_view piece) {
                if (in_reasoning) {
                    print_piece(tty ? "\x1b[0m\n" : "\n");
                    in_reasoning = false;
                }
                print_piece(piece);
            },
            [&](std::string_view piece) {
                if (!in_reasoning) print_piece(tty ? "\x1b[2m" : "");
                in_reasoning = true;
                print_piece(piece);
            },
            [] { return g_interrupted != 0; });
        if (in_reasoning && tty) print_piece("\x1b[0m");
        const bool stopped = g_interrupted != 0;
        g_interrupted = 0;
        if (stopped || (reply && reply->finish_reason == "abort")) {
            std::printf("\n[stopped]\n");
            if (reply && !reply->text.empty()) history.push_back({"assistant", reply->text});
            continue;
        }
        if (!reply) {
            std::printf("\n[error: %s]\n", reply.message().c_str());
            history.pop_back();  // the message was not answered: do not send it again
            continue;
        }
        history.push_back({"assistant", reply->text});
        const double decode_s = reply->seconds - std::max(0.0, reply->first_token_seconds);
        std::printf("\n[%lld tokens, %.1f tokens/s, first token %.0f ms%s]\n",
                    static_cast<long long>(reply->completion_tokens),
                    decode_s > 0 ? static_cast<double>(reply->completion_tokens) / decode_s : 0.0,
                    std::max(0.0, reply->first_token_seconds) * 1000.0,
                    reply->finish_reason == "length" ? ", cut at --max-tokens" : "");
    }
    std::printf("\n");
    return 0;
}

cli::command_action setup(CLI::App& app) {
    auto o = std::make_shared<chat_args>();
    chat_args& a = *o;
    app.add_option("--url", a.url, "the server (http://HOST[:PORT]), unless --model is given")
        ->check(cli::base_url_text())
        ->capture_default_str();
    app.add_option("--api-key", a.api_key, "the server's API key");
    app.add_option("--model-name", a.model_name, "model name sent to the server");
    app.add_option("--model", a.engine.model_path,
                   "chat with this GGUF file or Hugging Face directory in this process instead");
    cli::add_engine_options(app, a.engine,
                            cli::engine_flags::device | cli::engine_flags::threads |
                                cli::engine_flags::kv_memory | cli::engine_flags::scheduler);
    app.add_option("--chat-template", a.engine.chat_template,
                   "with --model: a Jinja chat template (file or inline) instead of the model's");
    app.add_option("--system", a.system, "a system prompt at the start of the conversation");
    app.add_option("--temperature", a.settings.temperature, "sampling temperature (0: greedy)")
        ->check(CLI::Range(0.0, 2.0))
        ->capture_default_str();
    app.add_option("--top-p", a.settings.top_p, "nucleus sampling")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    app.add_option("--max-tokens", a.settings.max_tokens, "the longest answer in tokens")
        ->check(CLI::Range(1, 1 << 20))
        ->capture_default_str();
    app.add_option("--seed", a.seed, "sampling seed (default: random)")->check(cli::non_negative());
    actorlm::cli::add_revision_option(app, a.revision);
    return [o] {
        if (!cli::resolve_hub_model_path(o->engine, o->revision, "actorlm chat")) return 1;
        return run_chat(*o);
    };
}

const cli::command_registration registration(
    "chat", "talk to a model in the terminal (a running server, or --model in this process)",
    setup);

}  // namespace chat_command
