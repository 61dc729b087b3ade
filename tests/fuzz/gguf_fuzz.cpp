// libFuzzer target: arbitrary bytes as a GGUF file (header, metadata of every value type,
// tensor infos, offsets, sizes, alignment), then what the loader builds from an accepted
// file: the model config and the GGUF tokenizer. Properties: a rejected file's error names
// the file; every accessor of an accepted file stays inside the bytes (ASan sees the
// exact-size copy), and every tensor's bytes match its type and shape.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_input.hpp"
#include "model/ggml_types.hpp"
#include "model/gguf_config.hpp"
#include "model/gguf_file.hpp"
#include "tokenizer/tokenizer.hpp"

namespace {

using actorlm::fuzz::require;

void read_every_value(const actorlm::gguf_file& f) {
    for (const std::string& key : f.keys()) {
        (void)f.get_string(key);
        (void)f.get_int(key);
        (void)f.get_float(key);
        (void)f.get_bool(key);
        (void)f.get_string_array(key);
        (void)f.get_float_array(key);
        (void)f.get_int_array(key);
        (void)f.array_info(key);
    }
}

void check_tensors(const actorlm::gguf_file& f, const uint8_t* begin, size_t size) {
    for (const actorlm::gguf_tensor_info& t : f.tensors()) {
        require(f.find_tensor(t.name) == &t);
        const actorlm::ggml_type_info* info = actorlm::ggml_type_lookup(t.ggml_type);
        require(info != nullptr);
        const int64_t elements = t.num_elements();
        require(elements >= 0 && elements % info->block_elems == 0);
        require(t.num_bytes == static_cast<size_t>(elements / info->block_elems) *
                                   static_cast<size_t>(info->block_bytes));
        require(t.data >= begin && t.num_bytes <= size - static_cast<size_t>(t.data - begin));
        if (t.num_bytes > 0) {
            volatile uint8_t first = t.data[0], last = t.data[t.num_bytes - 1];
            (void)first;
            (void)last;
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace actorlm;
    auto bytes = mapped_file::from_bytes("fuzz.gguf",
                                         std::string_view(reinterpret_cast<const char*>(data), size));
    auto file = gguf_file::from_mapping(bytes);
    if (!file) {
        require(file.err().message.find("fuzz.gguf") != std::string::npos);
        return 0;
    }
    const gguf_file& f = **file;
    read_every_value(f);
    check_tensors(f, bytes->data(), bytes->size());
    (void)config_from_gguf(f);
    if (auto tok = tokenizer::from_gguf(f)) {
        auto ids = (*tok)->encode("Hello <s> wörld\n\t 12345 ", true, true);
        (void)(*tok)->decode(ids, false);
        const int32_t probe[] = {-1, 0, 1, (*tok)->vocab_size() - 1, (*tok)->vocab_size()};
        (void)(*tok)->decode(probe, true);
    }
    return 0;
}
