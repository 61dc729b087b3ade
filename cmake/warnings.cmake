# Warnings for our own targets; third-party headers sit on system include paths.
function(actorlm_warnings target)
    target_compile_options(${target} PRIVATE -Wall -Wextra
        $<$<COMPILE_LANGUAGE:CXX>:-Wno-missing-field-initializers>)
endfunction()
