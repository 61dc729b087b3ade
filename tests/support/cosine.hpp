// cosine: the cosine similarity the embedding tests compare vectors with (engine output
// against transformers' references), in double whatever the element types.
#pragma once

#include <cmath>
#include <cstddef>

namespace actorlm::test {

/// Cosine similarity of two vectors of equal length (0 when the lengths differ or a
/// vector is empty, so a wrong-length output fails a closeness check).
template <class A, class B>
double cosine(const A& a, const B& b) {
    if (a.size() != b.size() || a.empty()) return 0.0;
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        ab += double(a[i]) * double(b[i]);
        aa += double(a[i]) * double(a[i]);
        bb += double(b[i]) * double(b[i]);
    }
    return ab / std::sqrt(aa * bb);
}

}  // namespace actorlm::test
