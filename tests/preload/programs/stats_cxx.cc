/* SPDX-License-Identifier: MIT */
// C++ callsites for KMEM_PROFILE: the profile must name the functions that
// call operator new (make_blobs, make_vector), not libstdc++.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

__attribute__((noinline)) static std::vector<std::unique_ptr<char[]>> make_blobs()
{
    std::vector<std::unique_ptr<char[]>> v;
    v.reserve(4);
    for (int i = 0; i < 4; i++)
        v.emplace_back(new char[1 << 20]()); // make_blobs: 4 MiB of new[]
    return v;
}

__attribute__((noinline)) static std::vector<double> *make_vector()
{
    return new std::vector<double>(1 << 18, 1.0); // 2 MiB through std::allocator
}

int main()
{
    auto blobs = make_blobs();
    std::vector<double> *v = make_vector();
    std::string s(100000, 'x');
    std::printf("%zu %zu %zu\n", blobs.size(), v->size(), s.size());
    delete v;
    return 0;
}
