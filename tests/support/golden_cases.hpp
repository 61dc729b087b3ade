// The golden files under ../shared/models (`<model>.golden.json`): prompts with their
// ids, the reference greedy continuation and the first steps' top-5 logits, made by an
// independent forward pass. Fields a file lacks stay empty.
#pragma once

#include <doctest/doctest.h>
#include <simdjson.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace actorlm::test {

struct golden_case {
    std::string prompt;
    std::vector<int32_t> prompt_ids;  // BOS included
    int32_t max_new = 0;              // new tokens the reference generated
    std::vector<int32_t> greedy_ids;
    std::string completion_text;
    std::vector<std::vector<std::pair<int32_t, double>>> top5;  // first steps, best first
};

inline std::vector<golden_case> read_golden(const std::string& path) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    REQUIRE_MESSAGE(parser.load(path).get(doc) == simdjson::SUCCESS, "cannot read " << path);
    std::vector<golden_case> out;
    for (simdjson::dom::element c : doc["cases"].get_array()) {
        golden_case g;
        std::string_view text;
        if (c["prompt"].get_string().get(text) == simdjson::SUCCESS) g.prompt = text;
        if (c["completion_text"].get_string().get(text) == simdjson::SUCCESS)
            g.completion_text = text;
        for (int64_t id : c["prompt_ids_with_bos"].get_array())
            g.prompt_ids.push_back(static_cast<int32_t>(id));
        for (int64_t id : c["greedy_ids"].get_array())
            g.greedy_ids.push_back(static_cast<int32_t>(id));
        int64_t max_new = static_cast<int64_t>(g.greedy_ids.size());
        if (c["max_new_tokens"].error() == simdjson::SUCCESS)
            max_new = c["max_new_tokens"].get_int64();
        g.max_new = static_cast<int32_t>(max_new);
        simdjson::dom::array steps;
        if (c["top5_logits_first_4_steps"].get_array().get(steps) == simdjson::SUCCESS) {
            for (simdjson::dom::element step : steps) {
                std::vector<std::pair<int32_t, double>> row;
                for (simdjson::dom::element pair : step.get_array()) {
                    simdjson::dom::array a = pair.get_array();
                    row.emplace_back(static_cast<int32_t>(int64_t(a.at(0))), double(a.at(1)));
                }
                g.top5.push_back(std::move(row));
            }
        }
        out.push_back(std::move(g));
    }
    return out;
}

}  // namespace actorlm::test
