/* SPDX-License-Identifier: MIT */
#include "core/sampled.h"

#include "core/cold.h"

#include <string.h>
#include <sys/mman.h>

uint8_t kms_sampled_filter[1u << KMS_SAMPLED_FILTER_BITS] KMS_COLD;

#define FILTER_MASK ((1u << KMS_SAMPLED_FILTER_BITS) - 1)
#define FIRST_CAP 1024u

static size_t filter_index(uintptr_t addr)
{
    return (addr >> KMS_SAMPLED_FILTER_SHIFT) & FILTER_MASK;
}

static void filter_add(uintptr_t addr)
{
    uint8_t *c = &kms_sampled_filter[filter_index(addr)];
    if (*c < 255) __atomic_store_n(c, (uint8_t)(*c + 1), __ATOMIC_RELAXED);
}

static void filter_remove(uintptr_t addr)
{
    uint8_t *c = &kms_sampled_filter[filter_index(addr)];
    /* 255 may stand for more blocks than were counted: it stays. */
    if (*c < 255) __atomic_store_n(c, (uint8_t)(*c - 1), __ATOMIC_RELAXED);
}

static size_t home(uintptr_t addr, size_t cap)
{
    return (size_t)(((addr >> 4) * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static struct kms_sampled_rec *map_slots(size_t cap)
{
    void *m = mmap(NULL, cap * sizeof(struct kms_sampled_rec), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

/* Inserts into a map known to have room and no record for r->addr. */
static void insert(struct kms_sampled_rec *slots, size_t cap, const struct kms_sampled_rec *r)
{
    size_t i = home(r->addr, cap);
    while (slots[i].addr)
        i = (i + 1) & (cap - 1);
    slots[i] = *r;
}

static int grow(struct kms_sampled *t)
{
    size_t cap = t->cap ? t->cap * 2 : FIRST_CAP;
    struct kms_sampled_rec *slots = map_slots(cap);
    if (!slots) return -1;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].addr) insert(slots, cap, &t->slots[i]);
    if (t->slots) munmap(t->slots, t->cap * sizeof(*t->slots));
    t->slots = slots;
    t->cap = cap;
    return 0;
}

static struct kms_sampled_rec *find(const struct kms_sampled *t, uintptr_t addr)
{
    if (!t->cap) return NULL;
    for (size_t i = home(addr, t->cap);; i = (i + 1) & (t->cap - 1)) {
        if (t->slots[i].addr == addr) return &t->slots[i];
        if (!t->slots[i].addr) return NULL;
    }
}

int kms_sampled_put(struct kms_sampled *t, const struct kms_sampled_rec *r,
                    struct kms_sampled_rec *old)
{
    struct kms_sampled_rec *have = find(t, r->addr);
    if (have) {
        *old = *have;
        *have = *r;
        return 1;
    }
    /* At most half full: probes stay short. */
    if ((t->n + 1) * 2 > t->cap && grow(t) < 0) return -1;
    insert(t->slots, t->cap, r);
    t->n++;
    filter_add(r->addr);
    return 0;
}

bool kms_sampled_take(struct kms_sampled *t, uintptr_t addr, struct kms_sampled_rec *out)
{
    struct kms_sampled_rec *hit = find(t, addr);
    if (!hit) return false;
    *out = *hit;
    size_t mask = t->cap - 1, i = (size_t)(hit - t->slots);
    /* Backward shift: move up every later record of the run whose home does
     * not lie cyclically in (i, j]. */
    for (size_t j = (i + 1) & mask; t->slots[j].addr; j = (j + 1) & mask) {
        size_t h = home(t->slots[j].addr, t->cap);
        bool stays = i <= j ? (h > i && h <= j) : (h > i || h <= j);
        if (stays) continue;
        t->slots[i] = t->slots[j];
        i = j;
    }
    memset(&t->slots[i], 0, sizeof(t->slots[i]));
    t->n--;
    filter_remove(addr);
    return true;
}

void kms_sampled_clear(struct kms_sampled *t)
{
    if (t->slots) munmap(t->slots, t->cap * sizeof(*t->slots));
    memset(t, 0, sizeof(*t));
    memset(kms_sampled_filter, 0, sizeof(kms_sampled_filter));
}
