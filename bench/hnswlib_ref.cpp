// hnswlib_ref.cpp - a C shim over hnswlib (the header-only reference implementation), used only by
// bench_engine to build and query hnswlib's index beside ours with the same M, ef_construction
// and data. Compiled only for the bench target (-O3 -march=native, hnswlib's own recommendation).
#include <hnswlib/hnswlib.h>

#include <cstdint>

struct hl_index {
    hnswlib::L2Space space;
    hnswlib::HierarchicalNSW<float> alg;
    hl_index(int dim, size_t max, int m, int efc, uint64_t seed)
        : space(dim), alg(&space, max, m, efc, seed)
    {
    }
};

extern "C" {
void *hl_create(int dim, size_t max, int m, int efc, uint64_t seed)
{
    return new hl_index(dim, max, m, efc, seed);
}
void hl_add(void *h, const float *v, size_t label) { ((hl_index *)h)->alg.addPoint(v, label); }
void hl_set_ef(void *h, size_t ef) { ((hl_index *)h)->alg.setEf(ef); }
int hl_search(void *h, const float *q, int k, uint32_t *out)
{
    auto r = ((hl_index *)h)->alg.searchKnn(q, k);
    int n = (int)r.size();
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (uint32_t)r.top().second;
        r.pop();
    }
    return n;
}
void hl_destroy(void *h) { delete (hl_index *)h; }
}
