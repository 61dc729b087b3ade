// SSE framing and incremental decoding (see sse.hpp). Lines may end in \n or
// \r\n; an empty line dispatches the event collected so far.
#include "net/sse.hpp"

namespace actorlm::net {

std::string sse_event(std::string_view payload) {
    std::string out;
    out.reserve(payload.size() + 8);
    out += "data: ";
    out.append(payload);
    out += "\n\n";
    return out;
}

const std::string& sse_done() {
    static const std::string done = "data: [DONE]\n\n";
    return done;
}

void sse_decoder::feed(std::string_view bytes, const event_fn& on_event) {
    for (char c : bytes) {
        if (c != '\n') {
            line_.push_back(c);
            continue;
        }
        if (!line_.empty() && line_.back() == '\r') line_.pop_back();
        if (line_.empty()) {
            if (has_data_) on_event(data_);
            data_.clear();
            has_data_ = false;
        } else if (line_.rfind("data:", 0) == 0) {
            std::string_view value(line_);
            value.remove_prefix(5);
            if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
            if (has_data_) data_.push_back('\n');
            data_.append(value);
            has_data_ = true;
        }
        line_.clear();
    }
}

}  // namespace actorlm::net
