# ACTORLM_CUDA=AUTO builds kernels/cuda where nvcc is found (CI compiles it on every
# run without a GPU); ON requires it; OFF skips it.
set(ACTORLM_HAVE_CUDA OFF)
if(NOT ACTORLM_CUDA STREQUAL "OFF")
    if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
        set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
    endif()
    include(CheckLanguage)
    check_language(CUDA)
    if(CMAKE_CUDA_COMPILER)
        set(ACTORLM_HAVE_CUDA ON)
    elseif(ACTORLM_CUDA STREQUAL "ON")
        message(FATAL_ERROR "ACTORLM_CUDA=ON but no CUDA compiler was found")
    else()
        message(STATUS "actorlm: no nvcc found, building without the CUDA backend")
    endif()
endif()

file(GLOB ACTORLM_CUDA_SOURCES CONFIGURE_DEPENDS
     ${CMAKE_CURRENT_SOURCE_DIR}/kernels/cuda/*.cu ${CMAKE_CURRENT_SOURCE_DIR}/kernels/cuda/*.cpp)
if(ACTORLM_HAVE_CUDA AND ACTORLM_CUDA_SOURCES)
    if(NOT CMAKE_CUDA_ARCHITECTURES)
        set(CMAKE_CUDA_ARCHITECTURES 80 90)
    endif()
    enable_language(CUDA)
    # CMake 3.25 does not know nvcc's C++20 dialect flag (nvcc >= 12 has it).
    if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
        set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
        set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    endif()
    set(CMAKE_CUDA_STANDARD 20)
    # One runtime: CUDA::cudart (shared) is linked explicitly, so the implicit
    # static runtime that CUDA targets get by default would be a second copy.
    set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    find_package(CUDAToolkit REQUIRED)
    add_library(actorlm_cuda STATIC ${ACTORLM_CUDA_SOURCES})
    actorlm_include_root(kernels_cuda_root kernels_cuda kernels/cuda)
    target_include_directories(actorlm_cuda PUBLIC ${kernels_cuda_root})
    # Kernels use plain float math (no --use_fast_math): the FP32 mode must match
    # the CPU reference's greedy ids.
    target_compile_options(actorlm_cuda PRIVATE
        $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -Xcompiler=-Wall,-Wextra>
        $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-missing-field-initializers>)
    target_link_libraries(actorlm_cuda PUBLIC actorlm_base CUDA::cudart CUDA::cublas CUDA::cublasLt)
    find_library(NCCL_LIBRARY nccl HINTS /usr/local/cuda/lib64 /usr/lib/x86_64-linux-gnu)
    find_path(NCCL_INCLUDE_DIR nccl.h HINTS /usr/local/cuda/include /usr/include)
    if(NCCL_LIBRARY AND NCCL_INCLUDE_DIR)
        target_link_libraries(actorlm_cuda PUBLIC ${NCCL_LIBRARY})
        target_include_directories(actorlm_cuda PUBLIC ${NCCL_INCLUDE_DIR})
        target_compile_definitions(actorlm_cuda PUBLIC ACTORLM_WITH_NCCL=1)
    endif()
    set_target_properties(actorlm_cuda PROPERTIES CUDA_SEPARABLE_COMPILATION OFF)
    message(STATUS "actorlm: CUDA backend enabled (${CMAKE_CUDA_COMPILER}, archs ${CMAKE_CUDA_ARCHITECTURES})")
endif()

# The CUDA backend's host code (executor, weights upload, batch planning): registers
# the "cuda" device with the engine's backend registry from a static initialiser.
file(GLOB ACTORLM_BACKEND_CUDA_SOURCES CONFIGURE_DEPENDS
     ${CMAKE_CURRENT_SOURCE_DIR}/engine/backends/cuda/*.cpp)
if(TARGET actorlm_cuda)
    add_library(actorlm_backend_cuda STATIC ${ACTORLM_BACKEND_CUDA_SOURCES})
    target_link_libraries(actorlm_backend_cuda PUBLIC actorlm_engine actorlm_cuda)
    actorlm_warnings(actorlm_backend_cuda)
endif()

# actorlm_backends: the engine with every backend this build has. The CUDA backend
# is linked whole so its registration is not dropped by the static link.
add_library(actorlm_backends INTERFACE)
target_link_libraries(actorlm_backends INTERFACE actorlm_engine)
if(TARGET actorlm_backend_cuda)
    target_link_libraries(actorlm_backends INTERFACE
        "$<LINK_LIBRARY:WHOLE_ARCHIVE,actorlm_backend_cuda>")
endif()

# actorlm-gpu: the CLI with only the CUDA subcommands (bench-gpu), so tools/gpu-check
# builds it on a GPU machine without compiling the actor and server layers.
if(TARGET actorlm_cuda)
    add_executable(actorlm-gpu ${CMAKE_CURRENT_SOURCE_DIR}/tools/cli/main.cpp
                   ${CMAKE_CURRENT_SOURCE_DIR}/tools/cli/version.cpp
                   ${CMAKE_CURRENT_SOURCE_DIR}/tools/cli/bench_gpu.cpp
                   ${CMAKE_CURRENT_SOURCE_DIR}/tools/cli/cli_values.cpp
                   ${CMAKE_CURRENT_SOURCE_DIR}/net/json_writer.cpp)  # the CLI's one JSON writer
    actorlm_include_root(gpu_cli_net_root net net)
    target_include_directories(actorlm-gpu PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/tools/cli
                               ${gpu_cli_net_root})
    target_link_libraries(actorlm-gpu PRIVATE actorlm_backends)
    target_compile_definitions(actorlm-gpu PRIVATE ACTORLM_WITH_CUDA=1)
    actorlm_warnings(actorlm-gpu)
    target_precompile_headers(actorlm-gpu PRIVATE <CLI/CLI.hpp>)
endif()
