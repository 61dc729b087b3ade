# Warnings for our own targets; third-party headers sit on system include paths.
# -Wshadow and -Wpedantic too: a shadowed member or a GNU extension is a bug or a
# portability trap in a library others embed.
function(actorlm_warnings target)
    target_compile_options(${target} PRIVATE -Wall -Wextra
        $<$<COMPILE_LANGUAGE:CXX>:-Wno-missing-field-initializers -Wshadow -Wpedantic>)
    # GCC's -Wsubobject-linkage flags a type with a member of an anonymous-namespace type
    # when it is defined in an included file, which is meant for headers; in a unity build
    # every .cpp is an included file, so it fires on a file's own private types.
    if(ACTORLM_UNITY_BUILD AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
        target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wno-subobject-linkage>)
    endif()
endfunction()
