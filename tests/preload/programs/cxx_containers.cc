/* SPDX-License-Identifier: MIT */
// A C++ program with standard containers and every operator new/delete form.
// Its output is the same with and without the shim. With an argument, it also
// checks that blocks from `new` land in a mapping with that policy.
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

extern "C" {
#include "vma_policy.h"
}

struct alignas(256) Wide {
    char bytes[1 << 20];
};

static int failures;

static void expect_policy(const char *what, const void *p, const char *want)
{
    char got[256] = "?";
    if (!want) return;
    if (vma_policy(p, got, sizeof(got)) != 0 || std::strcmp(got, want) != 0) {
        std::printf("FAIL %s: %s (want %s)\n", what, got, want);
        failures++;
    }
}

int main(int argc, char **argv)
{
    const char *big_policy = argc > 1 ? argv[1] : nullptr;
    std::map<std::string, std::vector<int>> m;
    std::unordered_map<int, std::string> u;
    for (int i = 0; i < 20000; i++) {
        m["key" + std::to_string(i % 997)].push_back(i);
        u[i] = std::string(static_cast<size_t>(i % 50), static_cast<char>('a' + i % 26));
    }
    unsigned long sum = 0;
    for (auto &kv : m)
        for (int v : kv.second)
            sum += static_cast<unsigned long>(v) * kv.first.size();
    for (auto &kv : u)
        sum += kv.second.size();

    // Every form of new and delete.
    int *one = new int(7);
    int *arr = new int[1 << 20]; // 4 MiB: above any test threshold
    expect_policy("new[]", arr, big_policy);
    auto *nt = new (std::nothrow) char[1 << 21];
    expect_policy("new[] nothrow", nt, big_policy);
    auto *w = new Wide; // aligned new
    expect_policy("aligned new", w, big_policy);
    if (reinterpret_cast<uintptr_t>(w) % 256 != 0) {
        std::printf("FAIL aligned new not aligned\n");
        failures++;
    }
    auto *wa = new Wide[2];
    auto *wn = new (std::nothrow) Wide;
    void *raw = ::operator new(3 << 20, std::align_val_t(4096));
    expect_policy("operator new(align)", raw, big_policy);
    std::unique_ptr<std::vector<double>> vp(new std::vector<double>(1 << 19, 1.5));
    sum += static_cast<unsigned long>((*vp)[100]);
    sum += static_cast<unsigned long>(*one) + static_cast<unsigned long>(arr[0] = 3);
    delete one;
    delete[] arr;
    delete[] nt;
    delete w;
    delete[] wa;
    delete wn;
    ::operator delete(raw, std::align_val_t(4096));
    ::operator delete(::operator new(100), static_cast<size_t>(100)); // sized delete

    bool caught = false;
    try {
        volatile size_t huge = ~static_cast<size_t>(0) / 2;
        char *p = new char[huge];
        delete[] p;
    } catch (const std::bad_alloc &) {
        caught = true;
    }
    char *nothrow_huge = new (std::nothrow) char[~static_cast<size_t>(0) / 4];
    std::printf("cxx: sum %lu, bad_alloc %s, nothrow %s\n", sum, caught ? "caught" : "missing",
                nothrow_huge ? "non-null" : "null");
    return failures || !caught || nothrow_huge ? 1 : 0;
}
