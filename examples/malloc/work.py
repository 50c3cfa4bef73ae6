# An allocation-heavy but deterministic computation for python3 (run with
# PYTHONMALLOC=malloc so that every object goes through malloc).
import collections, hashlib, json, random

rng = random.Random(20240601)
letters = "abcdefghijklmnop"
words = ["".join(rng.choice(letters) for _ in range(rng.randint(3, 12))) for _ in range(100000)]

by_prefix = collections.defaultdict(list)
for i, w in enumerate(words):
    by_prefix[w[:3]].append((w, i))
counts = collections.Counter(words)

records = [{"id": i, "word": w, "tags": [w[::-1], w.upper()], "n": len(w)} for i, w in enumerate(words)]
text = json.dumps(records)
back = json.loads(text)
assert back == records

grid = {}
for i in range(150000):
    grid[(i % 547, i // 547)] = str(i) * (i % 5)
joined = " ".join(sorted(set(words)))
chunks = []
for k in sorted(by_prefix)[:2000]:
    chunks.append(k + ":" + ",".join(w for w, _ in by_prefix[k][:20]))

h = hashlib.sha256()
for part in (text, joined, "\n".join(chunks), repr(sorted(grid.items())[:5000])):
    h.update(part.encode())
print(len(words), len(by_prefix), len(counts), counts.most_common(3))
print(len(text), len(joined), len(grid), sum(len(v) for v in grid.values()))
print(h.hexdigest())
