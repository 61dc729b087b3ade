# Finds the Debian packages that tools/setup installs and wraps CAF (which ships
# no CMake config) in imported targets.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
find_package(simdjson REQUIRED)
find_package(Boost 1.81 REQUIRED)
find_package(doctest REQUIRED)
# Image decoding (engine/multimodal/image_decoder): Debian's libpng, libjpeg-turbo,
# libwebp and giflib.
pkg_check_modules(PNG REQUIRED IMPORTED_TARGET libpng)
pkg_check_modules(WEBP REQUIRED IMPORTED_TARGET libwebp)
find_package(JPEG REQUIRED)
find_package(GIF REQUIRED)

find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
find_library(CAF_IO_LIBRARY caf_io REQUIRED)
file(STRINGS "${CAF_INCLUDE_DIR}/caf/config.hpp" caf_version_line REGEX "#define CAF_VERSION ")
string(REGEX MATCH "[0-9]+" CAF_VERSION_NUMBER "${caf_version_line}")
if(NOT CAF_VERSION_NUMBER STREQUAL "1706")
    message(WARNING "actorlm is written for CAF 0.17.6 (1706); found ${CAF_VERSION_NUMBER}")
endif()
add_library(caf::core UNKNOWN IMPORTED)
set_target_properties(caf::core PROPERTIES IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}" INTERFACE_LINK_LIBRARIES Threads::Threads)
add_library(caf::io UNKNOWN IMPORTED)
set_target_properties(caf::io PROPERTIES IMPORTED_LOCATION "${CAF_IO_LIBRARY}"
    INTERFACE_LINK_LIBRARIES caf::core)
# Mutual TLS between nodes (actors/node_tls): CAF's openssl module (Debian's
# libcaf-openssl0.17; libcaf-dev ships the headers and the .so link) over OpenSSL.
find_package(OpenSSL REQUIRED)
find_library(CAF_OPENSSL_LIBRARY caf_openssl REQUIRED)
add_library(caf::openssl UNKNOWN IMPORTED)
set_target_properties(caf::openssl PROPERTIES IMPORTED_LOCATION "${CAF_OPENSSL_LIBRARY}"
    INTERFACE_LINK_LIBRARIES "caf::io;OpenSSL::SSL;OpenSSL::Crypto")
