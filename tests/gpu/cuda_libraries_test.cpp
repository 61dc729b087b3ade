// cuBLAS and NCCL are opened on first use, never linked: a process that does not run a GPU
// model (every CLI command, the CPU server) pays none of their start-up cost. Runs without
// a GPU: opening a library needs no device.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "cuda/cuda_libraries.hpp"

using namespace actorlm;

namespace {

bool mapped_in_this_process(const std::string& library) {
    std::ifstream maps("/proc/self/maps");
    std::stringstream text;
    text << maps.rdbuf();
    return text.str().find(library) != std::string::npos;
}

}  // namespace

TEST_CASE("cuda libraries: cuBLAS is absent until first use, then opens with every entry point") {
    // ctest runs each test case in its own process, so nothing opened it before.
    const std::string lib = cuda::cublas_library_name();
    CHECK(lib.rfind("libcublas.so.", 0) == 0);
    CHECK_FALSE(mapped_in_this_process("libcublas"));
    CHECK_FALSE(mapped_in_this_process("libcublasLt"));
    auto api = cuda::cublas();
    if (!api) FAIL(api.message());
    CHECK(mapped_in_this_process("libcublas"));
    CHECK(std::string((*api)->status_name(CUBLAS_STATUS_NOT_INITIALIZED)) ==
          "CUBLAS_STATUS_NOT_INITIALIZED");
    CHECK(cuda::cublas().ok());  // a second call returns the same table
    CHECK(*cuda::cublas() == *api);
#ifdef ACTORLM_WITH_NCCL
    CHECK_FALSE(mapped_in_this_process("libnccl"));
    auto nccl = cuda::nccl();
    if (!nccl) FAIL(nccl.message());
    CHECK(mapped_in_this_process("libnccl"));
    CHECK(std::string((*nccl)->error_string(ncclInvalidArgument)).size() > 0);
#endif
}
