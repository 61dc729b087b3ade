// cpu level dispatch: detection is self-consistent, levels parse and can be
// forced for tests, and ACTORLM_CPU (read once per process, so checked in a
// child process) picks the kernels or is ignored with a warning when unusable.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "cpu/cpu_features.hpp"

#include "support/shell.hpp"

using namespace actorlm::cpu;

namespace {

// Runs a shell command, returns its stdout+stderr.
std::string capture(const std::string& cmd) { return actorlm::test::run_shell(cmd).output; }

std::string bench_level(const std::string& env) {
    const std::string cli = std::string(ACTORLM_BINARY_DIR) + "/actorlm";
    return capture(env + " " + cli +
                   " bench-matmul --dtype q8_0 --rows 8 --cols 64 --tokens 1 --repeat 1"
                   " --working-set-mb 1");
}

}  // namespace

TEST_CASE("matmul_dispatch_detected_features_are_consistent") {
    const cpu_features& f = detected_cpu_features();
    const cpu_level best = best_supported_level();
    if (best == cpu_level::avx512) {
        CHECK((f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512vnni));
    }
    if (best != cpu_level::portable) CHECK((f.avx2 && f.fma && f.f16c));
    if (f.avx512vnni) CHECK(f.avx512f);
    // The active level never exceeds what the processor supports.
    CHECK(static_cast<int>(active_cpu_level()) <= static_cast<int>(best));
    MESSAGE("best cpu level: " << cpu_level_name(best));
}

TEST_CASE("matmul_dispatch_levels_parse_and_switch") {
    CHECK(*parse_cpu_level("portable") == cpu_level::portable);
    CHECK(*parse_cpu_level("avx2") == cpu_level::avx2);
    CHECK(*parse_cpu_level("avx512") == cpu_level::avx512);
    auto bad = parse_cpu_level("sse9");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.message().find("sse9") != std::string::npos);

    const cpu_level saved = active_cpu_level();
    REQUIRE(set_cpu_level(cpu_level::portable).ok());
    CHECK(active_cpu_level() == cpu_level::portable);
    if (best_supported_level() != cpu_level::avx512) {
        auto st = set_cpu_level(cpu_level::avx512);
        CHECK_FALSE(st.ok());
        CHECK(st.message().find("avx512") != std::string::npos);
    }
    REQUIRE(set_cpu_level(saved).ok());
}

TEST_CASE("matmul_dispatch_environment_variable_forces_a_level") {
    if (!std::filesystem::exists(std::string(ACTORLM_BINARY_DIR) + "/actorlm")) {
        MESSAGE("actorlm CLI not built: skipped");
        return;
    }
    const std::string forced = bench_level("ACTORLM_CPU=portable");
    CHECK(forced.find("\"level\":\"portable\"") != std::string::npos);
    const std::string bad = bench_level("ACTORLM_CPU=bogus");
    CHECK(bad.find("ignoring ACTORLM_CPU") != std::string::npos);
    CHECK(bad.find(std::string("\"level\":\"") + cpu_level_name(best_supported_level())) !=
          std::string::npos);
}

TEST_CASE("matmul_bench_cli_reports_bad_options_and_prints_json") {
    const std::string cli = std::string(ACTORLM_BINARY_DIR) + "/actorlm";
    if (!std::filesystem::exists(cli)) {
        MESSAGE("actorlm CLI not built: skipped");
        return;
    }
    CHECK(capture(cli + " bench-matmul --dtype q9_9").find("--dtype: q9_9 not in") !=
          std::string::npos);
    CHECK(capture(cli + " bench-matmul --dtype q4_k --cols 576")
              .find("not a multiple of the Q4_K block") != std::string::npos);
    CHECK(capture(cli + " bench-matmul --tokens 1,,2").find("--tokens: '1,,2'") !=
          std::string::npos);
    const std::string out = capture(cli +
                                    " bench-matmul --dtype f16 --rows 8 --cols 32 --tokens 1,3"
                                    " --repeat 1 --working-set-mb 1");
    CHECK(out.find("\"tokens\":1,") != std::string::npos);
    CHECK(out.find("\"tokens\":3,") != std::string::npos);
    CHECK(out.find("\"gflops\":") != std::string::npos);
}
