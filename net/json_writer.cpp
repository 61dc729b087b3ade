// json_writer: JSON text building with comma bookkeeping, string escaping and
// UTF-8 repair (token texts can be partial byte sequences; JSON must stay valid).
#include "net/json_writer.hpp"

#include <cmath>
#include <cstdio>

namespace actorlm::net {

void json_writer::before_value() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (!has_element_.empty()) {
        if (has_element_.back()) out_.push_back(',');
        has_element_.back() = true;
    }
}

json_writer& json_writer::begin_object() {
    before_value();
    out_.push_back('{');
    has_element_.push_back(false);
    return *this;
}

json_writer& json_writer::end_object() {
    out_.push_back('}');
    has_element_.pop_back();
    return *this;
}

json_writer& json_writer::begin_array() {
    before_value();
    out_.push_back('[');
    has_element_.push_back(false);
    return *this;
}

json_writer& json_writer::end_array() {
    out_.push_back(']');
    has_element_.pop_back();
    return *this;
}

json_writer& json_writer::key(std::string_view k) {
    before_value();
    append_json_string(out_, k);
    out_.push_back(':');
    after_key_ = true;
    return *this;
}

json_writer& json_writer::value(std::string_view s) {
    before_value();
    append_json_string(out_, s);
    return *this;
}

json_writer& json_writer::value(bool b) {
    before_value();
    out_ += b ? "true" : "false";
    return *this;
}

json_writer& json_writer::value(int64_t v) {
    before_value();
    out_ += std::to_string(v);
    return *this;
}

json_writer& json_writer::value(uint64_t v) {
    before_value();
    out_ += std::to_string(v);
    return *this;
}

json_writer& json_writer::value(double v) {
    if (std::isnan(v)) return null();
    if (std::isinf(v)) v = v < 0 ? -9999.0 : 9999.0;
    before_value();
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.9g", v);
    out_ += buf;
    // "%g" prints integral values without a point; keep them floats for clients that care.
    if (out_.find_first_of(".eE", out_.size() - std::string_view(buf).size()) == std::string::npos)
        out_ += ".0";
    return *this;
}

json_writer& json_writer::null() {
    before_value();
    out_ += "null";
    return *this;
}

json_writer& json_writer::raw(std::string_view json) {
    before_value();
    out_.append(json);
    return *this;
}

}  // namespace actorlm::net
