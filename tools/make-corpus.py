#!/usr/bin/env python3
"""Write the seed corpus of the fuzz harness (tests/fuzz_analloc.c).

usage: tools/make-corpus.py [DIR]        (default tests/corpus)

Each input is the model's byte stream: byte 0 picks the kind of
configuration (0 with_chunk, 1 init, 2 init over a fake range, 0xF8 a huge
fake range; 0xF3 the calls of version 3, with the class in byte 1: 0 to 2
the first three, 3 to 5 the same with per-CPU stores, 6 an address space,
7 a huge one; see fuzz_analloc.c), the next bytes the configuration and the
rest the operations.  The bytes come from splitmix64 (deterministic on every
Python), shaped by a style:

  uniform  any byte: any arena, page size, offset and operation
  low      bytes below 16: small draws (small arenas and sizes, the first
           choices of every switch: mostly allocations, double frees...)
  mixed    half uniform, half low
  high     bytes above 0xEF: large draws (large pages and arenas, the last
           choices: realloc, bad pointers far away, ...)

The recipes below were picked so that together they cover each kind of
configuration (with_chunk with the struct inside the chunk, a used prefix,
init, fake ranges from address 0, page 1, one-page arenas, unaligned starts,
huge ranges) and each operation (alloc that succeeds or fails, free,
realloc in place / moved / failed, mem_size, NULL calls, and bad pointers:
outside, reserved, misaligned, interior, double free), as counted by
ANALLOC_FUZZ_VERBOSE=1 build/tests/fuzz_replay.  Files written here are
named seed-*; inputs found by libFuzzer are kept beside them as found-*.
"""
import os
import sys

MASK = (1 << 64) - 1

# (kind byte, style, length, seed)
RECIPES = [
    # the smallest set that covers every feature listed above
    (0x00, "uniform", 1024, 1),
    (0xF8, "uniform", 64, 1),
    (0x01, "high", 16, 2),
    (0x00, "high", 16, 0),
    (0x02, "high", 16, 3),
    (0x01, "uniform", 16, 1),
    (0x00, "low", 16, 1),
    (0x01, "high", 16, 3),
    (0x02, "high", 16, 0),
    # every kind in every style, short and long
] + [(kind, style, length, seed)
     for kind in (0x00, 0x01, 0x02, 0xF8)
     for style in ("uniform", "low", "mixed", "high")
     for length, seed in ((64, 1), (1024, 0))] + [
    # an empty input (kind 0, every draw zero) and one byte per kind
    (None, "zeros", 0, 0),
    (0x00, "zeros", 1, 0),
    (0x01, "zeros", 1, 0),
    (0x02, "zeros", 1, 0),
    (0xF8, "zeros", 1, 0),
] + [
    # version 3 (0xF3, class): both interfaces and exact runs on every kind,
    # address spaces (base 0, unaligned, above 4 GiB, below 2^64)
    ((0xF3, cls), style, length, seed)
    for cls in range(8)
    for style, length, seed in (("uniform", 1024, 0), ("mixed", 1024, 1))
] + [
    ((0xF3, cls), "zeros", 2, 0) for cls in (6, 7)
] + [
    # address spaces right below 2^64 and above 4 GiB (16 MiB pages; page 1)
    ((0xF3, 6), "high", 1024, 4),
    ((0xF3, 6), "uniform", 1024, 9),
    ((0xF3, 7), "high", 1024, 5),
    ((0xF3, 7), "uniform", 1024, 8),
]


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def generate(kind, style, length, seed):
    if length == 0:
        return b""
    state = (seed * 0x100000001B3 + length) & MASK
    out = bytearray(kind if isinstance(kind, tuple) else [kind])
    while len(out) < length:
        state, x = splitmix64(state)
        b, c = x & 0xFF, (x >> 8) & 0xFF
        if style == "uniform":
            v = b
        elif style == "low":
            v = b & 0x0F
        elif style == "mixed":
            v = b if c < 128 else b & 0x0F
        elif style == "high":
            v = 0xFF - (b & 0x0F)
        elif style == "zeros":
            v = 0
        else:
            raise ValueError(style)
        out.append(v)
    return bytes(out)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "tests/corpus"
    os.makedirs(out_dir, exist_ok=True)
    seen = set()
    total = 0
    for kind, style, length, seed in RECIPES:
        head = "-".join("%02x" % b for b in kind) if isinstance(kind, tuple) \
            else "%02x" % kind if kind is not None else None
        name = "seed-empty" if kind is None else \
            "seed-%s-%s-%d-%d" % (head, style, length, seed)
        if name in seen:
            continue
        seen.add(name)
        data = generate(kind, style, length, seed)
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
        total += len(data)
    print("%s: %d seed inputs, %d bytes" % (out_dir, len(seen), total))


if __name__ == "__main__":
    main()
