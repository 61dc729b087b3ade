# Tests labelled `slow` on top of their suite's label: CI's sanitizer stage runs
# `ctest -LE slow` (.ci/run). Each one spawns the actorlm binary hundreds of times to sweep
# option parsing; under ASan every spawn costs about 0.5 s, together 3 minutes of the
# 40-minute CI budget, for code the Release stage runs the same way and the fuzz targets
# cover for memory safety. Read by ctest after the discovered tests (TEST_INCLUDE_FILES),
# whose script mode has no get_test_property: each entry repeats its suite's label.
set_tests_properties(
    "cli: every command prints --help to stdout and rejects bad options with exit 2"
    "cli: one spelling per concept: the old flag spellings are gone"
    "cli: shared value parsers: byte sizes, HOST:PORT and numbers name the option"
    PROPERTIES LABELS "actors;slow")
set_tests_properties("cli: bad flags get a clear message and a non-zero exit"
                     PROPERTIES LABELS "net;slow")
