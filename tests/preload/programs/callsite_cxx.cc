/* SPDX-License-Identifier: MIT */
// The C++ side of the callsite test program: the callsite of `new` must be
// these functions, not libstdc++.
#include "callsite_prog.h"

#include <cstring>
#include <vector>

extern "C" CS_KEEP void *callsite_cxx_new(size_t n)
{
    char *p = new char[n];
    std::memset(p, 3, n);
    return p;
}

static std::vector<std::vector<char> *> kept;

// std::vector's allocator calls operator new from code inlined here.
extern "C" CS_KEEP void *callsite_cxx_vector(size_t n)
{
    auto *v = new std::vector<char>(n, 4);
    kept.push_back(v);
    return v->data();
}
