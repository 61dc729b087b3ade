// libFuzzer target: arbitrary bytes through CAF's binary_deserializer into the cluster's
// typed messages (every type of the actorlm type-ID block, as a peer node would send
// them) and into a caf::message of any registered type. The first byte picks the type.
// Properties: nothing crashes or trips a sanitizer; what deserializes serializes again,
// and that serialization deserializes to the same bytes (load callbacks keep invariants).
//
// Known and out of this target's reach: CAF 0.17 loads a byte vector (std::vector<char>)
// by resizing it to the length the sender wrote before checking that many bytes follow
// (data_processor::apply_sequence), so a few bytes can demand gigabytes. That is CAF's
// code, reached before ours; the deserializer here refuses such lengths up front (as a
// fixed CAF would) so that the fuzzer keeps exploring our inspect() overloads and load
// callbacks instead of timing out in that resize. docs/fuzzing.md "Open".
#include <caf/all.hpp>

#include <cstdint>
#include <utility>
#include <vector>

#include "actors/messages.hpp"
#include "fuzz_input.hpp"

namespace {

using actorlm::fuzz::require;
using block = caf::id_block::actorlm;

caf::actor_system& fuzz_system() {
    static caf::actor_system_config config = [] {
        caf::actor_system_config c;
        c.add_message_types<block>();
        c.set("scheduler.max-threads", 1);
        c.set("logger.console", caf::atom("none"));
        return c;
    }();
    static caf::actor_system system{config};
    return system;
}

// binary_deserializer that refuses a sequence longer than the bytes left (each element takes
// at least one byte on the wire), before CAF sizes anything from it.
class bounded_deserializer : public caf::binary_deserializer {
public:
    using caf::binary_deserializer::binary_deserializer;

    caf::error begin_sequence(size_t& list_size) override {
        if (auto err = caf::binary_deserializer::begin_sequence(list_size)) return err;
        if (list_size > remaining()) return caf::make_error(caf::sec::end_of_stream);
        return caf::none;
    }
};

std::vector<char> serialize(caf::actor_system& sys, auto& value) {
    std::vector<char> bytes;
    caf::binary_serializer sink{sys, bytes};
    require(!sink(value));
    return bytes;
}

template <class T>
void round_trip(caf::actor_system& sys, const char* data, size_t size) {
    T value{};
    bounded_deserializer source{sys, data, size};
    if (source(value)) return;  // rejected: an error, not a crash
    std::vector<char> once = serialize(sys, value);
    T again{};
    bounded_deserializer reread{sys, once};
    require(!reread(again));
    require(serialize(sys, again) == once);
}

template <caf::type_id_t... Offsets>
void dispatch(caf::actor_system& sys, uint8_t selector, const char* data, size_t size,
              std::integer_sequence<caf::type_id_t, Offsets...>) {
    using fn = void (*)(caf::actor_system&, const char*, size_t);
    static constexpr fn table[] = {
        &round_trip<typename caf::type_by_id<block::begin + Offsets>::type>...};
    table[selector % sizeof...(Offsets)](sys, data, size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    caf::actor_system& sys = fuzz_system();
    const char* body = reinterpret_cast<const char*>(data + 1);
    dispatch(sys, data[0], body, size - 1,
             std::make_integer_sequence<caf::type_id_t, block::end - block::begin>{});
    caf::message msg;
    bounded_deserializer source{sys, body, size - 1};
    (void)source(msg);
    return 0;
}
