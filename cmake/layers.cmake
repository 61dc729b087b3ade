# Layer enforcement. Each library gets an include root of its own under
# ${CMAKE_BINARY_DIR}/include-roots/ that holds one symbolic link per source folder
# it owns (e.g. include-roots/kernels_cpu/cpu -> kernels/cpu). A target's include
# path is then exactly the roots of itself and of the libraries it links, so
# `#include "model/model_config.hpp"` in a CPU kernel fails to compile: nothing
# on its path has a `model/` folder.

# actorlm_include_root(<out-var> <name> <folder>...): makes the root and sets <out-var>.
function(actorlm_include_root out_var name)
    set(root ${CMAKE_BINARY_DIR}/include-roots/${name})
    file(MAKE_DIRECTORY ${root})
    foreach(dir ${ARGN})
        get_filename_component(leaf ${dir} NAME)
        if(NOT EXISTS ${root}/${leaf})
            file(CREATE_LINK ${CMAKE_SOURCE_DIR}/${dir} ${root}/${leaf} SYMBOLIC)
        endif()
    endforeach()
    set(${out_var} ${root} PARENT_SCOPE)
endfunction()

# actorlm_prove_layer(<name> <allowed-header> <forbidden-header> <include-dir>...): compiles
# cmake/layer_probe.cpp with exactly those include dirs; it must compile with the allowed
# header and must not with the forbidden one (a layer above). Stops the configure otherwise.
function(actorlm_prove_layer name allowed forbidden)
    foreach(kind allowed forbidden)
        set(header ${${kind}})
        try_compile(ok ${CMAKE_BINARY_DIR}/layer-probes/${name}-${kind}
            SOURCES ${CMAKE_SOURCE_DIR}/cmake/layer_probe.cpp
            CMAKE_FLAGS "-DINCLUDE_DIRECTORIES=${ARGN}"
            COMPILE_DEFINITIONS -DACTORLM_PROBE_HEADER="${header}"
            CXX_STANDARD 20
            OUTPUT_VARIABLE out)
        if(kind STREQUAL "allowed" AND NOT ok)
            message(FATAL_ERROR "layer probe: ${name} cannot include ${header}:\n${out}")
        elseif(kind STREQUAL "forbidden" AND ok)
            message(FATAL_ERROR "layer probe: ${name} can include ${header} (a layer above it)")
        endif()
    endforeach()
    message(STATUS "actorlm: layers: ${name} sees ${allowed}, not ${forbidden}")
endfunction()

# The probes CI relies on: CPU kernels cannot reach the engine, the server cannot reach
# the engine core (only the public API).
function(actorlm_prove_layers)
    set(api ${CMAKE_SOURCE_DIR}/include)
    actorlm_prove_layer(kernels_cpu cpu/rope.hpp model/model_config.hpp
                        ${kernels_cpu_root} ${base_root} ${api})
    actorlm_prove_layer(net actorlm/engine.hpp core/scheduler.hpp ${net_root} ${base_root} ${api})
endfunction()
