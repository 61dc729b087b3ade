// prompt_words: the vocabulary of bench-serve's random-word prompts (random-words,
// and doc-qa against chat endpoints): short common words that tokenize to few
// tokens in any English tokenizer. Constant data; any thread.
#pragma once

#include <string_view>

namespace actorlm::net {

inline constexpr std::string_view k_prompt_words[] = {
    "the", "cat",   "sat",   "on",    "a",     "mat",    "and",  "dog",  "ran",
    "to",  "hello", "world", "big",   "small", "red",    "blue", "tree", "house",
    "sun", "moon",  "day",   "night", "happy", "little", "girl", "boy"};

}  // namespace actorlm::net
