// docqa_dataset: documents, questions and per-conversation prompts (see
// docqa_dataset.hpp). Every random part has its own generator seeded from
// (seed, kind, index), so document d is the same whatever D, the number of
// conversations or the order the turns are built in.
#include "bench/docqa_dataset.hpp"

#include <random>

#include "base/check.hpp"
#include "bench/prompt_words.hpp"
#include "net/json_writer.hpp"

namespace actorlm::net {

namespace {

// Generator streams, one per kind of random part.
constexpr uint64_t k_document_stream = 1;
constexpr uint64_t k_question_stream = 2;
constexpr uint64_t k_pick_stream = 3;

std::mt19937_64 generator(uint64_t seed, uint64_t stream, uint64_t index) {
    std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                      static_cast<uint32_t>(stream), static_cast<uint32_t>(index),
                      static_cast<uint32_t>(index >> 32)};
    return std::mt19937_64(seq);
}

}  // namespace

docqa_dataset::docqa_dataset(docqa_options options)
    : options_(std::move(options)), chat_(options_.endpoint.find("chat") != std::string::npos) {
    ACTORLM_CHECK(options_.num_documents > 0 && options_.document_len > 0 &&
                      options_.question_len > 0 && options_.num_turns > 0 &&
                      options_.token_lo < options_.token_hi,
                  "docqa_dataset: invalid options");
    for (int32_t d = 0; d < options_.num_documents; ++d)
        documents_.push_back(
            random_part(k_document_stream, static_cast<uint64_t>(d), options_.document_len));
    auto pick = generator(options_.seed, k_pick_stream, 0);
    std::uniform_int_distribution<int32_t> doc_dist(0, options_.num_documents - 1);
    const auto turns = static_cast<uint64_t>(options_.num_turns);
    for (size_t c = 0; c < options_.num_conversations; ++c) {
        document_of_.push_back(doc_dist(pick));
        std::vector<prompt_part> qs;
        for (uint64_t t = 0; t < turns; ++t)
            qs.push_back(random_part(k_question_stream, c * turns + t, options_.question_len));
        questions_.push_back(std::move(qs));
    }
    states_.resize(options_.num_conversations);
}

prompt_part docqa_dataset::random_part(uint64_t stream, uint64_t index, int32_t len) const {
    auto rng = generator(options_.seed, stream, index);
    prompt_part part;
    if (!chat_) {
        std::uniform_int_distribution<int32_t> tok(options_.token_lo, options_.token_hi - 1);
        for (int32_t i = 0; i < len; ++i) part.ids.push_back(tok(rng));
        return part;
    }
    std::uniform_int_distribution<size_t> word(0, std::size(k_prompt_words) - 1);
    for (int32_t i = 0; i < len; ++i) {
        if (i) part.text.push_back(' ');
        part.text += k_prompt_words[word(rng)];
    }
    return part;
}

const prompt_part& docqa_dataset::question(size_t c, int32_t t) const {
    return questions_[c][static_cast<size_t>(t)];
}

int64_t docqa_dataset::prompt_len(size_t c) const {
    return chat_ ? -1 : static_cast<int64_t>(states_[c].prompt_ids.size());
}

load_request docqa_dataset::build(size_t c, int32_t t, const request_result* previous) {
    ACTORLM_CHECK(
        c < states_.size() && t >= 0 && t < options_.num_turns && (t == 0) == (previous == nullptr),
        "docqa_dataset::build: conversation %zu turn %d out of order", c, t);
    conversation_state& s = states_[c];
    const prompt_part& q = question(c, t);
    if (t == 0) {
        const prompt_part& doc = document(document_of(c));
        s = {};
        if (chat_) {
            s.messages.emplace_back("user", doc.text + "\n\n" + q.text);
        } else {
            s.prompt_ids = doc.ids;
            s.prompt_ids.insert(s.prompt_ids.end(), q.ids.begin(), q.ids.end());
        }
    } else if (chat_) {
        s.messages.emplace_back("assistant", previous->text);
        s.messages.emplace_back("user", q.text);
    } else {
        // The answer as the server tokenized it (run_conversations' /tokenize call), then the
        // question: a completions prompt is either text or ids, never both.
        const auto& answer = previous->text_token_ids;
        s.prompt_ids.insert(s.prompt_ids.end(), answer.begin(), answer.end());
        s.prompt_ids.insert(s.prompt_ids.end(), q.ids.begin(), q.ids.end());
    }
    return {options_.endpoint, body(s)};
}

std::string docqa_dataset::body(const conversation_state& s) const {
    json_writer w;
    w.begin_object();
    if (!options_.model.empty()) w.field("model", options_.model);
    if (chat_) {
        w.key("messages").begin_array();
        for (const auto& [role, content] : s.messages)
            w.begin_object().field("role", role).field("content", content).end_object();
        w.end_array();
    } else {
        w.key("prompt").begin_array();
        for (int32_t id : s.prompt_ids) w.value(id);
        w.end_array();
    }
    w.field(chat_ ? "max_completion_tokens" : "max_tokens", options_.output_len);
    w.field("temperature", 0.0).field("stream", true);
    w.key("stream_options").begin_object().field("include_usage", true).end_object();
    if (options_.ignore_eos) w.field("ignore_eos", true);
    w.end_object();
    return w.take();
}

conversation_plan docqa_dataset::plan() {
    conversation_plan p;
    p.num_conversations = options_.num_conversations;
    p.num_turns = options_.num_turns;
    p.build = [this](size_t c, int32_t t, const request_result* previous) {
        return build(c, t, previous);
    };
    p.tokenize_answers = !chat_ && options_.num_turns > 1;
    p.model = options_.model;
    return p;
}

}  // namespace actorlm::net
