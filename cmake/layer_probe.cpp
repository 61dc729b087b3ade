// Compiled at configure time by actorlm_prove_layers (cmake/layers.cmake) with one
// layer's include paths: it must compile when ACTORLM_PROBE_HEADER is a header that
// layer may include and fail when it names a header of a layer above.
#include ACTORLM_PROBE_HEADER

int main() { return 0; }
