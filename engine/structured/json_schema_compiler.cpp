// json_schema_compiler: walks the schema (simdjson DOM) and emits grammar rules. Each
// $ref target becomes one rule, declared before its body is compiled so that recursive
// schemas refer to themselves. Errors carry the JSON pointer of the offending schema.
#include "structured/json_schema_compiler.hpp"

#include <simdjson.h>

#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "structured/integer_range.hpp"
#include "structured/json_grammar.hpp"
#include "structured/json_schema_formats.hpp"
#include "structured/regex_compiler.hpp"

namespace actorlm::structured {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

constexpr int k_max_schema_depth = 64;

// Keywords that only annotate: ignored.
const std::set<std::string_view> k_annotations = {
    "title",    "description", "default",   "examples",   "$schema",         "$id",
    "$comment", "deprecated",  "readOnly",  "writeOnly",  "$defs",           "definitions",
    "discriminator", "contentMediaType", "contentEncoding", "$anchor"};

// Keywords we constrain.
const std::set<std::string_view> k_supported = {
    "type",      "properties", "required",  "additionalProperties", "enum",     "const",
    "anyOf",     "oneOf",      "allOf",     "$ref",                 "items",    "minItems",
    "maxItems",  "minLength",  "maxLength", "pattern",              "format",   "nullable",
    "uniqueItems", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"};

class schema_compiler {
public:
    result<grammar> run(std::string_view text) {
        simdjson::padded_string padded(text);
        if (parser_.parse(padded).get(root_) != simdjson::SUCCESS)
            return make_error(error_kind::invalid_argument, "JSON schema: not valid JSON");
        result<grammar_element> top = compile(root_, "#", 0);
        if (!top.ok()) return top.err();
        const int32_t root = g_.new_rule("root");
        g_.define(root, {sequence{*top}});
        g_.set_root(root);
        status checked = g_.validate();
        if (!checked.ok())
            return make_error(error_kind::invalid_argument, "JSON schema: %s",
                              checked.err().message.c_str());
        return std::move(g_);
    }

private:
    static error fail(const std::string& path, const std::string& what) {
        return make_error(error_kind::invalid_argument, "JSON schema at %s: %s", path.c_str(),
                          what.c_str());
    }

    result<grammar_element> compile(element schema, const std::string& path, int depth) {
        if (depth > k_max_schema_depth) return fail(path, "schema nested too deeply");
        if (schema.type() == element_type::BOOL) {
            if (bool(schema.get_bool().value())) return grammar::ref(json_.value());
            return fail(path, "the schema `false` accepts nothing");
        }
        simdjson::dom::object obj;
        if (schema.get_object().get(obj) != simdjson::SUCCESS)
            return fail(path, "a schema must be an object or a boolean");
        std::set<std::string_view> constraining;
        for (auto field : obj) {
            const std::string_view key = field.key;
            if (k_annotations.count(key)) continue;
            if (!k_supported.count(key))
                return fail(path, "unsupported JSON Schema keyword '" + std::string(key) + "'");
            constraining.insert(key);
        }
        if (constraining.count("uniqueItems")) {
            bool unique = false;
            if (obj["uniqueItems"].get(unique) != simdjson::SUCCESS || unique)
                return fail(path, "unsupported JSON Schema keyword 'uniqueItems' (true)");
            constraining.erase("uniqueItems");
        }
        // Keywords that replace the whole schema: beside them, other constraints would need
        // an intersection of languages, which we do not compute.
        for (std::string_view k : {"$ref", "enum", "const", "anyOf", "oneOf", "allOf"}) {
            if (!constraining.count(k)) continue;
            for (std::string_view other : constraining) {
                const bool fine = other == k ||
                                  ((k == "enum" || k == "const") &&
                                   (other == "type" || other == "nullable")) ||
                                  ((k == "anyOf" || k == "oneOf") && other == "nullable");
                if (!fine)
                    return fail(path, "'" + std::string(k) + "' combined with '" +
                                          std::string(other) + "' is not supported");
            }
        }
        if (constraining.count("$ref")) return compile_ref(obj, path, depth);
        if (constraining.count("enum") || constraining.count("const"))
            return compile_literals(obj, path);
        if (constraining.count("anyOf") || constraining.count("oneOf")) {
            // oneOf is compiled as anyOf: the branches of generated schemas (pydantic unions,
            // tagged variants) rarely overlap; docs/server.md states the difference.
            const char* k = constraining.count("anyOf") ? "anyOf" : "oneOf";
            return compile_union(obj, k, path, depth);
        }
        if (constraining.count("allOf")) {
            simdjson::dom::array all;
            if (obj["allOf"].get_array().get(all) != simdjson::SUCCESS || all.size() != 1)
                return fail(path, "'allOf' is supported with exactly one schema");
            return compile(all.at(0).value(), path + "/allOf/0", depth + 1);
        }
        return compile_typed(obj, constraining, path, depth);
    }

    result<grammar_element> compile_ref(simdjson::dom::object obj, const std::string& path,
                                        int depth) {
        std::string_view ref;
        if (obj["$ref"].get_string().get(ref) != simdjson::SUCCESS)
            return fail(path, "'$ref' must be a string");
        auto found = refs_.find(std::string(ref));
        if (found != refs_.end()) return grammar::ref(found->second);
        if (ref.empty() || ref[0] != '#')
            return fail(path, "only local references ('#/...') are supported, got '" +
                                  std::string(ref) + "'");
        element target = root_;
        std::string_view pointer = ref.substr(1);
        while (!pointer.empty()) {
            if (pointer[0] != '/') return fail(path, "bad JSON pointer '" + std::string(ref) + "'");
            pointer.remove_prefix(1);
            const size_t slash = pointer.find('/');
            std::string token(pointer.substr(0, slash));
            pointer = slash == std::string_view::npos ? std::string_view() : pointer.substr(slash);
            std::string unescaped;
            for (size_t i = 0; i < token.size(); ++i) {
                if (token[i] == '~' && i + 1 < token.size()) {
                    unescaped += token[i + 1] == '1' ? '/' : '~';
                    ++i;
                } else {
                    unescaped += token[i];
                }
            }
            element next;
            if (target.type() == element_type::OBJECT) {
                if (target.get_object().value()[unescaped].get(next) != simdjson::SUCCESS)
                    return fail(path, "'$ref' target '" + std::string(ref) + "' does not exist");
            } else if (target.type() == element_type::ARRAY) {
                char* end = nullptr;
                const unsigned long idx = std::strtoul(unescaped.c_str(), &end, 10);
                if (target.get_array().value().at(idx).get(next) != simdjson::SUCCESS)
                    return fail(path, "'$ref' target '" + std::string(ref) + "' does not exist");
            } else {
                return fail(path, "'$ref' target '" + std::string(ref) + "' does not exist");
            }
            target = next;
        }
        const int32_t rule = g_.new_rule("ref");
        refs_[std::string(ref)] = rule;
        result<grammar_element> body = compile(target, std::string(ref), depth + 1);
        if (!body.ok()) return body.err();
        g_.define(rule, {sequence{*body}});
        return grammar::ref(rule);
    }

    result<grammar_element> compile_literals(simdjson::dom::object obj, const std::string& path) {
        std::vector<sequence> alternatives;
        element c;
        if (obj["const"].get(c) == simdjson::SUCCESS) {
            alternatives.push_back(g_.literal(simdjson::to_string(c)));
        } else {
            simdjson::dom::array values;
            if (obj["enum"].get_array().get(values) != simdjson::SUCCESS || values.size() == 0)
                return fail(path, "'enum' must be a non-empty array");
            for (element v : values) alternatives.push_back(g_.literal(simdjson::to_string(v)));
        }
        return g_.group(std::move(alternatives), "literal");
    }

    result<grammar_element> compile_union(simdjson::dom::object obj, const char* key,
                                          const std::string& path, int depth) {
        simdjson::dom::array branches;
        if (obj[key].get_array().get(branches) != simdjson::SUCCESS || branches.size() == 0)
            return fail(path, std::string("'") + key + "' must be a non-empty array");
        std::vector<sequence> alternatives;
        size_t i = 0;
        for (element branch : branches) {
            result<grammar_element> e =
                compile(branch, path + "/" + key + "/" + std::to_string(i++), depth + 1);
            if (!e.ok()) return e.err();
            alternatives.push_back(sequence{*e});
        }
        bool nullable = false;
        if (obj["nullable"].get(nullable) == simdjson::SUCCESS && nullable)
            alternatives.push_back(g_.literal("null"));
        return g_.group(std::move(alternatives), "any_of");
    }

    result<grammar_element> compile_typed(simdjson::dom::object obj,
                                          const std::set<std::string_view>& keys,
                                          const std::string& path, int depth) {
        std::vector<std::string> types;
        element type;
        if (obj["type"].get(type) == simdjson::SUCCESS) {
            if (type.type() == element_type::STRING) {
                types.emplace_back(type.get_string().value());
            } else if (type.type() == element_type::ARRAY) {
                const simdjson::dom::array list = type.get_array().value();
                for (element t : list) {
                    std::string_view s;
                    if (t.get_string().get(s) != simdjson::SUCCESS)
                        return fail(path, "'type' entries must be strings");
                    types.emplace_back(s);
                }
            } else {
                return fail(path, "'type' must be a string or an array of strings");
            }
        } else {
            // No type: the keywords present say which kind of value they constrain;
            // producing only that kind is a subset of what the schema accepts.
            if (keys.count("properties") || keys.count("required") ||
                keys.count("additionalProperties"))
                types.push_back("object");
            if (keys.count("items") || keys.count("minItems") || keys.count("maxItems"))
                types.push_back("array");
            if (keys.count("minLength") || keys.count("maxLength") || keys.count("pattern") ||
                keys.count("format"))
                types.push_back("string");
            if (keys.count("minimum") || keys.count("maximum") || keys.count("exclusiveMinimum") ||
                keys.count("exclusiveMaximum"))
                types.push_back("number");
            if (types.empty()) return grammar::ref(json_.value());
        }
        bool nullable = false;
        if (obj["nullable"].get(nullable) == simdjson::SUCCESS && nullable)
            types.push_back("null");
        if (types.empty()) return fail(path, "'type' is an empty list");
        std::vector<sequence> alternatives;
        for (const std::string& t : types) {
            result<grammar_element> e = compile_type(obj, t, path, depth);
            if (!e.ok()) return e.err();
            alternatives.push_back(sequence{*e});
        }
        return g_.group(std::move(alternatives), "typed");
    }

    result<grammar_element> compile_type(simdjson::dom::object obj, const std::string& type,
                                         const std::string& path, int depth) {
        if (type == "string") return compile_string(obj, path);
        if (type == "integer") return compile_number(obj, path, true);
        if (type == "number") return compile_number(obj, path, false);
        if (type == "boolean") return g_.group({g_.literal("true"), g_.literal("false")}, "boolean");
        if (type == "null") return g_.group({g_.literal("null")}, "null");
        if (type == "array") return compile_array(obj, path, depth);
        if (type == "object") return compile_object(obj, path, depth);
        return fail(path, "unknown type '" + type + "'");
    }

    static result<int64_t> count(simdjson::dom::object obj, const char* key, int64_t fallback,
                                 const std::string& path) {
        element v;
        if (obj[key].get(v) != simdjson::SUCCESS) return fallback;
        int64_t i = 0;
        double d = 0;
        if (v.get_int64().get(i) == simdjson::SUCCESS) {
        } else if (v.get_double().get(d) == simdjson::SUCCESS && d == static_cast<double>(
                                                                         static_cast<int64_t>(d))) {
            i = static_cast<int64_t>(d);
        } else {
            return fail(path, std::string("'") + key + "' must be an integer");
        }
        if (i < 0) return fail(path, std::string("'") + key + "' must not be negative");
        return i;
    }

    // Integers, and numbers, within minimum / maximum / exclusive bounds. A bounded number
    // is written as an integer in range, or (bounds >= 0) an integer part below the upper
    // bound with a fraction: a subset of the range that needs no decimal arithmetic.
    result<grammar_element> compile_number(simdjson::dom::object obj, const std::string& path,
                                           bool integer) {
        std::optional<int64_t> lo, hi;
        for (const char* key : {"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"}) {
            element v;
            if (obj[key].get(v) != simdjson::SUCCESS) continue;
            double d = 0;
            if (v.get_double().get(d) != simdjson::SUCCESS)
                return fail(path, std::string("'") + key + "' must be a number");
            if (!(std::fabs(d) <= static_cast<double>(k_max_integer_bound)))
                return fail(path, std::string("'") + key + "' beyond 1e15 is not supported");
            const std::string_view k = key;
            if (k == "minimum" || k == "exclusiveMinimum") {
                const auto b = static_cast<int64_t>(k == "minimum" ? std::ceil(d) : std::floor(d) + 1);
                lo = lo ? std::max(*lo, b) : b;
            } else {
                const auto b = static_cast<int64_t>(k == "maximum" ? std::floor(d) : std::ceil(d) - 1);
                hi = hi ? std::min(*hi, b) : b;
            }
        }
        if (!lo && !hi) return grammar::ref(integer ? json_.integer() : json_.number());
        if (lo && hi && *lo > *hi)
            return fail(path, "no integer lies within the bounds (ranges without an integer are "
                              "not supported)");
        std::string pattern = integer_range_regex(lo, hi);
        if (!integer && lo && *lo >= 0 && (!hi || *hi - 1 >= *lo))
            pattern = "(?:" + pattern + "|" +
                      integer_range_regex(lo, hi ? std::optional<int64_t>(*hi - 1) : std::nullopt) +
                      "\\.[0-9]{1,6})";
        result<int32_t> rule = add_regex_rule(g_, pattern, {}, "number_range");
        if (!rule.ok()) return fail(path, rule.message());
        return grammar::ref(*rule);
    }

    result<grammar_element> compile_string(simdjson::dom::object obj, const std::string& path) {
        std::string_view pattern, format;
        const bool has_pattern = obj["pattern"].get_string().get(pattern) == simdjson::SUCCESS;
        const bool has_format = obj["format"].get_string().get(format) == simdjson::SUCCESS;
        result<int64_t> min = count(obj, "minLength", 0, path);
        result<int64_t> max = count(obj, "maxLength", -1, path);
        if (!min.ok()) return min.err();
        if (!max.ok()) return max.err();
        const bool bounded = *min > 0 || *max >= 0;
        if (has_format && !has_pattern) {
            pattern = json_format_pattern(format);
            if (pattern.empty())
                return fail(path, "unsupported string format '" + std::string(format) +
                                      "' (supported: " + std::string(json_supported_formats()) +
                                      ")");
        }
        const grammar_element quote = g_.literal("\"")[0];
        if (has_pattern || has_format) {
            if (bounded)
                return fail(path, "'pattern' or 'format' combined with 'minLength' / "
                                  "'maxLength' is not supported");
            result<int32_t> rule = add_regex_rule(g_, pattern, {.json_string = true}, "pattern");
            if (!rule.ok()) return fail(path, "'pattern': " + rule.message());
            return g_.group({sequence{quote, grammar::ref(*rule), quote}}, "pattern_string");
        }
        if (!bounded) return grammar::ref(json_.string());
        if (*max >= 0 && *max < *min) return fail(path, "'maxLength' is below 'minLength'");
        result<sequence> chars = g_.repeat({grammar::ref(json_.string_char_no_unicode_escape())},
                                           *min, *max, "string_chars");
        if (!chars.ok()) return fail(path, chars.message());
        sequence s{quote};
        s.insert(s.end(), chars->begin(), chars->end());
        s.push_back(quote);
        return g_.group({std::move(s)}, "bounded_string");
    }

    result<grammar_element> compile_array(simdjson::dom::object obj, const std::string& path,
                                          int depth) {
        result<int64_t> min = count(obj, "minItems", 0, path);
        result<int64_t> max = count(obj, "maxItems", -1, path);
        if (!min.ok()) return min.err();
        if (!max.ok()) return max.err();
        if (*max >= 0 && *max < *min) return fail(path, "'maxItems' is below 'minItems'");
        element items;
        grammar_element item = grammar::ref(json_.value());
        if (obj["items"].get(items) == simdjson::SUCCESS) {
            if (items.type() == element_type::BOOL && !bool(items.get_bool().value())) {
                if (*min > 0) return fail(path, "'items': false with 'minItems' above 0");
                *max = 0;
            } else {
                result<grammar_element> e = compile(items, path + "/items", depth + 1);
                if (!e.ok()) return e.err();
                item = *e;
            }
        }
        auto alternatives = json_.list_of("[", item, "]", *min, *max, "array_rest");
        if (!alternatives.ok()) return fail(path, alternatives.message());
        return g_.group(std::move(alternatives).value(), *max == 0 ? "empty_array" : "array");
    }

    result<grammar_element> compile_object(simdjson::dom::object obj, const std::string& path,
                                           int depth) {
        simdjson::dom::object properties;
        const bool has_properties =
            obj["properties"].get_object().get(properties) == simdjson::SUCCESS;
        std::set<std::string> required;
        simdjson::dom::array req;
        if (obj["required"].get_array().get(req) == simdjson::SUCCESS) {
            for (element r : req) {
                std::string_view name;
                if (r.get_string().get(name) != simdjson::SUCCESS)
                    return fail(path, "'required' entries must be strings");
                required.insert(std::string(name));
            }
        }
        element additional;
        const bool has_additional = obj["additionalProperties"].get(additional) ==
                                    simdjson::SUCCESS;
        const bool additional_false = has_additional && additional.type() == element_type::BOOL &&
                                      !bool(additional.get_bool().value());
        if (!has_properties || properties.size() == 0) {
            if (!required.empty())
                return fail(path, "required property '" + *required.begin() +
                                      "' is not listed in 'properties'");
            if (additional_false) {
                sequence s = g_.literal("{");
                s.push_back(grammar::ref(json_.space()));
                s.push_back(g_.literal("}")[0]);
                return g_.group({std::move(s)}, "empty_object");
            }
            if (!has_additional) return grammar::ref(json_.object());
            result<grammar_element> value =
                compile(additional, path + "/additionalProperties", depth + 1);
            if (!value.ok()) return value.err();
            return map_object(*value);
        }
        struct member {
            sequence kv;
            bool required = false;
        };
        std::vector<member> members;
        for (auto field : properties) {
            result<grammar_element> value =
                compile(field.value, path + "/properties/" + std::string(field.key), depth + 1);
            if (!value.ok()) return value.err();
            member m;
            m.kv = json_.key(field.key);
            m.kv.push_back(*value);
            m.required = required.erase(std::string(field.key)) > 0;
            members.push_back(std::move(m));
        }
        if (!required.empty())
            return fail(path, "required property '" + *required.begin() +
                                  "' is not listed in 'properties'");
        // Properties in order, optional ones skippable, commas only between those present:
        // first_i = members from i on with none before; rest_i = the same after one.
        const size_t n = members.size();
        std::vector<int32_t> first(n + 1), rest(n + 1);
        for (size_t i = 0; i <= n; ++i) {
            first[i] = g_.new_rule("props_first");
            rest[i] = g_.new_rule("props_rest");
        }
        g_.define(first[n], {sequence{}});
        g_.define(rest[n], {sequence{}});
        for (size_t i = n; i-- > 0;) {
            sequence take_first = members[i].kv;
            take_first.push_back(grammar::ref(rest[i + 1]));
            sequence take_rest = g_.literal(",");
            take_rest.push_back(grammar::ref(json_.space()));
            take_rest.insert(take_rest.end(), members[i].kv.begin(), members[i].kv.end());
            take_rest.push_back(grammar::ref(rest[i + 1]));
            std::vector<sequence> f{std::move(take_first)}, r{std::move(take_rest)};
            if (!members[i].required) {
                f.push_back(sequence{grammar::ref(first[i + 1])});
                r.push_back(sequence{grammar::ref(rest[i + 1])});
            }
            g_.define(first[i], std::move(f));
            g_.define(rest[i], std::move(r));
        }
        sequence s = g_.literal("{");
        s.push_back(grammar::ref(json_.space()));
        s.push_back(grammar::ref(first[0]));
        s.push_back(g_.literal("}")[0]);
        return g_.group({std::move(s)}, "object");
    }

    // {"key": value, ...} with any keys and every value under one schema.
    grammar_element map_object(grammar_element value) {
        const int32_t member = g_.new_rule("map_member");
        g_.define(member, {sequence{grammar::ref(json_.string()), g_.literal(":")[0],
                                    grammar::ref(json_.space()), value}});
        return g_.group(
            json_.list_of("{", grammar::ref(member), "}", 0, -1, "map_rest").value(), "map");
    }

    simdjson::dom::parser parser_;
    element root_;
    grammar g_;
    json_rules json_{g_};
    std::map<std::string, int32_t> refs_;
};

}  // namespace

result<grammar> json_schema_to_grammar(std::string_view schema_json) {
    return schema_compiler().run(schema_json);
}

grammar json_object_grammar() {
    grammar g;
    json_rules json(g);
    const int32_t root = g.new_rule("root");
    g.define(root, {sequence{grammar::ref(json.object())}});
    g.set_root(root);
    return g;
}

}  // namespace actorlm::structured
