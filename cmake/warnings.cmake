# Warnings for our own targets; third-party headers sit on system include paths.
# -Wshadow and -Wpedantic too: a shadowed member or a GNU extension is a bug or a
# portability trap in a library others embed.
function(actorlm_warnings target)
    target_compile_options(${target} PRIVATE -Wall -Wextra
        $<$<COMPILE_LANGUAGE:CXX>:-Wno-missing-field-initializers -Wshadow -Wpedantic>)
endfunction()
