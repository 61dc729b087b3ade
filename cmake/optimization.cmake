# Code that orchestrates rather than computes compiles at -O1 in Release builds: the test
# suites, the CAF actors and the CLI. Their time goes into message handling and waiting;
# every forward pass, kernel, sampler and tokenizer they call lives in the engine and
# kernel libraries, which keep -O3. At -O3 these targets (CAF's and CLI11's templates,
# doctest's expansions) were over half of a clean build's CPU time (issue 12;
# docs/benchmarks.md "Build time").
# GCC 12 at -O1 reports std::string concatenations with literals as out-of-bounds copies
# (GCC bugs 105329 and 105651, false positives), hence those three warnings are off here.
function(actorlm_orchestration_code target)
    target_compile_options(${target} PRIVATE $<$<CONFIG:Release>:-O1>
        $<$<CONFIG:Release>:-Wno-array-bounds> $<$<CONFIG:Release>:-Wno-stringop-overflow>
        $<$<CONFIG:Release>:-Wno-stringop-overread>)
endfunction()
