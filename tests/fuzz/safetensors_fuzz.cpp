// libFuzzer target: arbitrary bytes as a .safetensors file (header length, JSON header,
// dtypes, shapes, data_offsets). Properties: a rejected file's error names the file; an
// accepted file's tensors lie inside the data, their bytes match dtype x shape, and every
// tensor can be found by name.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_input.hpp"
#include "model/safetensors_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace actorlm;
    using actorlm::fuzz::require;
    auto bytes = mapped_file::from_bytes(
        "fuzz.safetensors", std::string_view(reinterpret_cast<const char*>(data), size));
    auto file = safetensors_file::from_mapping(bytes);
    if (!file) {
        require(file.err().message.find("fuzz.safetensors") != std::string::npos);
        return 0;
    }
    const uint8_t* begin = bytes->data();
    for (const safetensors_tensor_info& t : (*file)->tensors()) {
        require((*file)->find_tensor(t.name) == &t);
        int64_t elements = 1;
        for (int64_t d : t.shape) {
            require(d >= 0);
            require(!__builtin_mul_overflow(elements, d, &elements));
        }
        require(t.num_bytes ==
                static_cast<size_t>(elements) * safetensors_file::dtype_bytes(t.dtype));
        require(t.data >= begin && t.num_bytes <= size - static_cast<size_t>(t.data - begin));
        if (t.num_bytes > 0) {
            volatile uint8_t first = t.data[0], last = t.data[t.num_bytes - 1];
            (void)first;
            (void)last;
        }
    }
    return 0;
}
