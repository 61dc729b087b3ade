// text_file implementation.
#include "base/text_file.hpp"

#include <fstream>
#include <sstream>

namespace actorlm {

result<std::string> read_text_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error("cannot read %s", path.string().c_str());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string read_text_file_or_empty(const std::filesystem::path& path) {
    auto text = read_text_file(path);
    return text ? std::move(text).value() : std::string();
}

}  // namespace actorlm
