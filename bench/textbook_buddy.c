/*
 * textbook_buddy.c - the classic binary buddy allocator, free lists threaded
 * through the free blocks (see textbook_buddy.h).
 */
#include "textbook_buddy.h"

#include <stdlib.h>
#include <string.h>

static struct tb_node *node_of(const struct tb *t, size_t pfn)
{
    return (struct tb_node *)(void *)(t->base + (pfn << t->shift));
}

static size_t pfn_of(const struct tb *t, const void *p)
{
    return (size_t)((const unsigned char *)p - t->base) >> t->shift;
}

static void list_add(struct tb_node *head, struct tb_node *n)
{
    n->next = head->next;
    n->prev = head;
    head->next->prev = n;
    head->next = n;
}

static void list_del(struct tb_node *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
}

/* Put the block (pfn, order) on its free list and mark it free. */
static void add_free(struct tb *t, size_t pfn, unsigned order)
{
    t->order[pfn] = (uint8_t)(TB_FREE | order);
    list_add(&t->head[order], node_of(t, pfn));
    t->nr_free[order]++;
}

/* Take the free block (pfn, order) off its list and clear its mark. */
static void del_free(struct tb *t, size_t pfn, unsigned order)
{
    list_del(node_of(t, pfn));
    t->order[pfn] = (uint8_t)order;
    t->nr_free[order]--;
}

size_t tb_order_bytes(size_t pages) { return pages; }

int tb_init(struct tb *t, void *base, size_t pages, unsigned shift, uint8_t *order_bytes)
{
    if (t == NULL || base == NULL || pages == 0 || order_bytes == NULL || shift >= 32)
        return -1;
    t->base = base;
    t->pages = pages;
    t->shift = shift;
    t->order = order_bytes;
    t->max_order = 0;
    while (t->max_order + 1u < TB_MAX_ORDERS && ((size_t)2 << t->max_order) <= pages)
        t->max_order++;
    for (unsigned k = 0; k < TB_MAX_ORDERS; k++) {
        t->head[k].next = t->head[k].prev = &t->head[k];
        t->nr_free[k] = 0;
    }
    memset(order_bytes, 0, pages);
    /* Carve the arena into the largest aligned blocks that fit. */
    size_t pfn = 0;
    while (pfn < pages) {
        unsigned k = t->max_order;
        while (k > 0 && ((pfn & (((size_t)1 << k) - 1u)) != 0 || pfn + ((size_t)1 << k) > pages))
            k--;
        add_free(t, pfn, k);
        pfn += (size_t)1 << k;
    }
    t->free_pages = pages;
    return 0;
}

void *tb_alloc(struct tb *t, unsigned order)
{
    unsigned k = order;
    while (k <= t->max_order && t->head[k].next == &t->head[k])
        k++;
    if (k > t->max_order)
        return NULL;
    struct tb_node *n = t->head[k].next;
    size_t pfn = pfn_of(t, n);
    del_free(t, pfn, k);
    /* expand(): the upper halves go back on their lists. */
    while (k > order) {
        k--;
        add_free(t, pfn + ((size_t)1 << k), k);
    }
    t->order[pfn] = (uint8_t)order;
    t->free_pages -= (size_t)1 << order;
    return n;
}

void tb_free(struct tb *t, void *p)
{
    if (p == NULL)
        return;
    size_t pfn = pfn_of(t, p);
    unsigned k = t->order[pfn];
    t->free_pages += (size_t)1 << k;
    while (k < t->max_order) {
        size_t buddy = pfn ^ ((size_t)1 << k);
        if (buddy >= t->pages || t->order[buddy] != (TB_FREE | k))
            break;
        del_free(t, buddy, k);
        pfn &= ~((size_t)1 << k);
        k++;
    }
    add_free(t, pfn, k);
}

size_t tb_largest_free(const struct tb *t)
{
    for (unsigned k = t->max_order + 1u; k-- > 0;)
        if (t->head[k].next != &t->head[k])
            return (size_t)1 << k;
    return 0;
}

size_t tb_meta_bytes(const struct tb *t) { return tb_order_bytes(t->pages) + sizeof *t; }

int tb_check(const struct tb *t)
{
    uint8_t *seen = calloc(t->pages, 1);
    if (seen == NULL)
        return -1;
    int err = 0;
    size_t free_pages = 0, marked_blocks = 0, listed_blocks = 0;
    for (unsigned k = 0; k < TB_MAX_ORDERS && err == 0; k++) {
        size_t count = 0;
        const struct tb_node *h = &t->head[k];
        for (const struct tb_node *n = h->next; n != h; n = n->next) {
            if (n->next->prev != n || n->prev->next != n) {
                err = -2; /* broken links */
                break;
            }
            const unsigned char *p = (const unsigned char *)n;
            if (p < t->base || ((size_t)(p - t->base) & (((size_t)1 << t->shift) - 1u)) != 0) {
                err = -3; /* not a page of the arena */
                break;
            }
            size_t pfn = pfn_of(t, p), size = (size_t)1 << k;
            if (k > t->max_order || (pfn & (size - 1u)) != 0 || pfn + size > t->pages) {
                err = -4; /* misaligned or outside */
                break;
            }
            if (t->order[pfn] != (TB_FREE | k)) {
                err = -5; /* listed but not marked */
                break;
            }
            for (size_t i = pfn; i < pfn + size; i++) {
                if (seen[i]) {
                    err = -6; /* overlapping free blocks, or listed twice */
                    break;
                }
                seen[i] = 1;
            }
            if (err)
                break;
            if (k < t->max_order) {
                size_t buddy = pfn ^ size;
                if (buddy < t->pages && t->order[buddy] == (TB_FREE | k)) {
                    err = -7; /* two free buddies not merged */
                    break;
                }
            }
            count++;
            free_pages += size;
            if (count > t->pages) {
                err = -8; /* a cycle */
                break;
            }
        }
        if (err == 0 && count != t->nr_free[k])
            err = -9;
        listed_blocks += count;
    }
    for (size_t i = 0; i < t->pages && err == 0; i++)
        if (t->order[i] & TB_FREE)
            marked_blocks++;
    if (err == 0 && marked_blocks != listed_blocks)
        err = -10; /* marked free but not listed */
    if (err == 0 && free_pages != t->free_pages)
        err = -11;
    free(seen);
    return err;
}
