// json_grammar: the JSON building blocks the schema compiler and the `json_object` format
// share: any value, object, array, string (valid UTF-8, escapes), number, integer, and the
// separator rule. Output is compact: at most one space after ',' and ':' and none
// elsewhere, so a sampler cannot wander off into unbounded whitespace. Each rule is added
// to the grammar on first use and reused afterwards.
#pragma once

#include <cstdint>

#include "structured/grammar.hpp"

namespace actorlm::structured {

class json_rules {
public:
    explicit json_rules(grammar& g) : g_(g) {}

    int32_t value();
    int32_t object();  ///< any JSON object
    int32_t array();   ///< any JSON array
    int32_t string();  ///< a whole string literal with its quotes
    int32_t string_char();  ///< one character of a string's inside (plain or escaped)
    /// One character of a string's inside with no \u escapes, so that a length bound counts
    /// characters as Python does (a \uD83D\uDE00 pair would count twice here, once there).
    int32_t string_char_no_unicode_escape();
    int32_t number();
    int32_t integer();
    /// The separator after ',' and ':' (an optional single space).
    int32_t space();

    /// `"` + key (JSON-escaped) + `"` + ':' + space.
    sequence key(std::string_view name);

    /// The alternatives of a JSON list (an array's items, an object's members):
    /// `open` space `item` (`,` space `item`){min-1, max-1} `close`, and `open` space
    /// `close` when `min_items` is 0. `max_items` < 0: no bound; 0: only the empty form.
    /// `rest_hint` names the repetition's rule.
    result<std::vector<sequence>> list_of(std::string_view open, grammar_element item,
                                          std::string_view close, int64_t min_items,
                                          int64_t max_items, std::string_view rest_hint);

private:
    int32_t cached(int32_t& slot, const char* name);
    grammar& g_;
    int32_t value_ = -1, object_ = -1, array_ = -1, string_ = -1, char_ = -1, plain_char_ = -1,
            number_ = -1, integer_ = -1, space_ = -1;
};

/// `text` as the inside of a JSON string literal (quotes not included).
std::string json_escape_string(std::string_view text);

}  // namespace actorlm::structured
