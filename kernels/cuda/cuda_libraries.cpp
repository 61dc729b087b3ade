// Opening cuBLAS on first use (cuda_libraries.hpp says why it is not linked).
#include "cuda/cuda_libraries.hpp"

#include <dlfcn.h>

#include <string>

namespace actorlm::cuda {

namespace {

#define ACTORLM_STR2(x) #x
#define ACTORLM_STR(x) ACTORLM_STR2(x)
constexpr const char* k_cublas_soname = "libcublas.so." ACTORLM_STR(CUBLAS_VER_MAJOR);

// Where the toolkit's libraries were at build time: tried when the soname alone is not
// found (the executable's RUNPATH names this directory only for the libraries it links).
#ifdef ACTORLM_CUDA_LIBRARY_DIR
constexpr const char* k_library_dir = ACTORLM_CUDA_LIBRARY_DIR;
#else
constexpr const char* k_library_dir = "";
#endif

result<void*> open_library(const char* soname) {
    if (void* h = dlopen(soname, RTLD_NOW | RTLD_LOCAL)) return h;
    std::string first = dlerror();
    if (*k_library_dir) {
        const std::string path = std::string(k_library_dir) + "/" + soname;
        if (void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) return h;
    }
    return make_error("cannot open %s (the CUDA toolkit's library): %s", soname, first.c_str());
}

template <class F>
status bind(void* lib, const char* soname, const char* symbol, F& out) {
    out = reinterpret_cast<F>(dlsym(lib, symbol));
    if (!out) return make_error("%s has no symbol %s", soname, symbol);
    return {};
}

result<cublas_api> load_cublas() {
    auto lib = open_library(k_cublas_soname);
    if (!lib) return lib.err();
    cublas_api api{};
    const char* n = k_cublas_soname;
    for (status st : {bind(*lib, n, "cublasCreate_v2", api.create),
                      bind(*lib, n, "cublasDestroy_v2", api.destroy),
                      bind(*lib, n, "cublasSetStream_v2", api.set_stream),
                      bind(*lib, n, "cublasSetWorkspace_v2", api.set_workspace),
                      bind(*lib, n, "cublasSetMathMode", api.set_math_mode),
                      bind(*lib, n, "cublasGemmEx", api.gemm_ex),
                      bind(*lib, n, "cublasGetStatusName", api.status_name)})
        if (!st) return st.err();
    return api;  // the library stays open for the process: its handles outlive any caller
}

#ifdef ACTORLM_WITH_NCCL
constexpr const char* k_nccl_soname = "libnccl.so." ACTORLM_STR(NCCL_MAJOR);

result<nccl_api> load_nccl() {
    auto lib = open_library(k_nccl_soname);
    if (!lib) return lib.err();
    nccl_api api{};
    const char* n = k_nccl_soname;
    for (status st : {bind(*lib, n, "ncclGetUniqueId", api.get_unique_id),
                      bind(*lib, n, "ncclCommInitRank", api.comm_init_rank),
                      bind(*lib, n, "ncclCommDestroy", api.comm_destroy),
                      bind(*lib, n, "ncclAllReduce", api.all_reduce),
                      bind(*lib, n, "ncclGetErrorString", api.error_string)})
        if (!st) return st.err();
    return api;
}
#endif

}  // namespace

result<const cublas_api*> cublas() {
    static const result<cublas_api> loaded = load_cublas();
    if (!loaded) return loaded.err();
    return &*loaded;
}

const char* cublas_library_name() { return k_cublas_soname; }

#ifdef ACTORLM_WITH_NCCL
result<const nccl_api*> nccl() {
    static const result<nccl_api> loaded = load_nccl();
    if (!loaded) return loaded.err();
    return &*loaded;
}
#endif

}  // namespace actorlm::cuda
