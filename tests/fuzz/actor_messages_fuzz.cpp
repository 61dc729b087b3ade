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
// callbacks instead of timing out in that resize. It also refuses infinite floats, which
// CAF 0.17 cannot serialize back (the round trip would hang). docs/fuzzing.md "Open".
#include <caf/all.hpp>

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "actors/messages.hpp"
#include "fuzz_input.hpp"

namespace {

using actorlm::fuzz::require;
using block = caf::id_block::actorlm;

// One actor system for the whole run, never destroyed: CAF's own singletons are gone by the
// time static destructors would run at exit, and ~actor_system then crashes.
caf::actor_system& fuzz_system() {
    static caf::actor_system* system = [] {
        auto* config = new caf::actor_system_config;
        config->add_message_types<block>();
        config->set("scheduler.max-threads", 1);
        config->set("logger.console", caf::atom("none"));
        return new caf::actor_system(*config);
    }();
    return *system;
}

// CAF's binary_deserializer (final, so wrapped rather than derived) that refuses a sequence
// longer than the bytes left (each element takes at least one byte on the wire) before CAF
// sizes anything from it; everything else is the wrapped deserializer's.
class bounded_deserializer : public caf::deserializer {
public:
    bounded_deserializer(caf::actor_system& sys, const char* data, size_t size)
        : caf::deserializer(sys), inner_(sys, data, size) {}
    bounded_deserializer(caf::actor_system& sys, const std::vector<char>& bytes)
        : bounded_deserializer(sys, bytes.data(), bytes.size()) {}

    caf::error begin_object(uint16_t& typenr, std::string& name) override {
        return inner_.begin_object(typenr, name);
    }
    caf::error end_object() override { return inner_.end_object(); }
    caf::error begin_sequence(size_t& list_size) override {
        if (auto err = inner_.begin_sequence(list_size)) return err;
        if (list_size > inner_.remaining()) return caf::make_error(caf::sec::end_of_stream);
        return caf::none;
    }
    caf::error end_sequence() override { return inner_.end_sequence(); }
    caf::error apply_raw(size_t num_bytes, void* data) override {
        return inner_.apply_raw(num_bytes, data);
    }

protected:
    caf::error apply_impl(int8_t& x) override { return inner_(x); }
    caf::error apply_impl(uint8_t& x) override { return inner_(x); }
    caf::error apply_impl(int16_t& x) override { return inner_(x); }
    caf::error apply_impl(uint16_t& x) override { return inner_(x); }
    caf::error apply_impl(int32_t& x) override { return inner_(x); }
    caf::error apply_impl(uint32_t& x) override { return inner_(x); }
    caf::error apply_impl(int64_t& x) override { return inner_(x); }
    caf::error apply_impl(uint64_t& x) override { return inner_(x); }
    caf::error apply_impl(float& x) override { return finite(x); }
    caf::error apply_impl(double& x) override { return finite(x); }
    caf::error apply_impl(long double& x) override { return finite(x); }
    caf::error apply_impl(std::string& x) override { return inner_(x); }
    caf::error apply_impl(std::u16string& x) override { return inner_(x); }
    caf::error apply_impl(std::u32string& x) override { return inner_(x); }

private:
    // CAF 0.17's serializer loops forever on an infinite float (detail::pack754 halves it
    // until it is below 2), so the round trip cannot serialize one; our senders only put
    // finite floats on the wire (check_sampling_params). docs/fuzzing.md "Open".
    template <class Float>
    caf::error finite(Float& x) {
        if (auto err = inner_(x)) return err;
        if (!std::isfinite(x)) return caf::make_error(caf::sec::invalid_argument);
        return caf::none;
    }

    caf::binary_deserializer inner_;
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
