"""Benchmarks: print a table of speed and memory figures. Nothing here asserts a timing.

Usage: .venv/bin/python evals/bench.py [--runs N] [--sizes 1000,10000,100000] [--skip-model]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AMPFIX = Path(sys.executable).parent / "ampfix"
EXAMPLE = ROOT / "examples" / "sandbox-error.log"
QUESTION_LOG = "Lambda fails: The data environment variables are malformed. Expected string values for: AMPLIFY_DATA_GRAPHQL_ENDPOINT"


def measure(cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def cold(args: list[str], runs: int) -> dict:
    results = [measure([str(AMPFIX), *args]) for _ in range(runs)]
    return {"p50_s": statistics.median(r[0] for r in results), "peak_mb": max(r[1] for r in results)}


def in_child(code: str) -> dict:
    """Run a snippet in a fresh interpreter; it prints one JSON object; add its peak RSS."""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
    out = proc.stdout.read()
    _, _, usage = os.wait4(proc.pid, 0)
    result = json.loads(out.decode().strip().splitlines()[-1])
    result["peak_mb"] = usage.ru_maxrss / 1024
    return result


QUESTIONS = [
    "how do I run a function on a schedule", "my lambda times out when it calls the graphql api",
    "sign in fails for users created in the console", "guest users cannot upload files to storage",
    "the hosting build fails at npm ci", "how do I give a function access to my data",
    "where do I set environment variables for my function", "custom domain for the user pool",
    "how do I add a post confirmation trigger", "subscriptions do not fire after a mutation",
    "how do I use an existing dynamodb table", "sandbox keeps redeploying the same stack",
    "my frontend cannot find amplify_outputs.json", "how do I call bedrock from a function",
    "owner based authorization returns unauthorized", "secrets are not available in the build",
]


def warm_at(n: int | None) -> dict:
    """Warm in-process diagnosis, as the chat REPL and the Slack bot see it: every real eval
    input once (the realistic mix) and distinct questions that always run the dense stage.
    With ``n``, the knowledge base is first scaled to n chunks by adding disguised copies of the
    real recipes (their own ids, error names and signatures that never match, chunk vectors
    jittered), so every stage (error names, signatures, BM25, FAISS) grows as a real one would."""
    sys.path.insert(0, str(ROOT))
    from assistant.answer import Engine
    from assistant.config import load_settings
    from assistant.evaluate import load_cases

    engine = Engine(load_settings(use_llm=False))
    engine.diagnose(QUESTIONS[0], use_llm=False, dense="always", require_context=False)  # load index + embedder
    if n is not None:
        _scale(engine, n)
    cases = load_cases(sorted((ROOT / "evals" / "cases").glob("*.jsonl")))
    for case in cases[:5]:
        engine.diagnose(case.log, use_llm=False)

    def timed(call) -> float:
        started = time.perf_counter()
        call()
        return (time.perf_counter() - started) * 1000

    mix = [timed(lambda c=c: engine.diagnose(c.log, use_llm=False)) for c in cases]
    dense = [timed(lambda q=q: engine.diagnose(q, use_llm=False, dense="always", require_context=False))
             for q in QUESTIONS * 2]
    return {"chunks": len(engine.retriever.chunks), "recipes": len(engine.retriever.recipes), "inputs": len(mix),
            "mix_p50_ms": statistics.median(mix), "mix_p95_ms": sorted(mix)[int(0.95 * (len(mix) - 1))],
            "dense_p50_ms": statistics.median(dense)}


def _scale(engine, n: int) -> None:
    import dataclasses

    import faiss
    import numpy as np

    from assistant.index import DenseIndex
    from assistant.retrieve import Retriever

    base_recipes = list(engine.retriever.recipes.values())
    dense = engine.dense_index()
    vectors = dense.index.reconstruct_n(0, dense.index.ntotal)
    by_recipe: dict[str, list[int]] = {}
    for i, chunk in enumerate(dense.chunks):
        by_recipe.setdefault(chunk.recipe_id, []).append(i)
    recipes, chunks, rows = list(base_recipes), list(dense.chunks), [vectors]
    rng = np.random.default_rng(7)
    copy = 0
    while len(chunks) < n:
        copy += 1
        tag = f"zq{copy}x"
        for recipe in base_recipes:
            clone = dataclasses.replace(recipe, id=f"{recipe.id}-{tag}",
                                        amplify_errors=tuple(f"{name}{tag.title()}" for name in recipe.amplify_errors),
                                        signatures=tuple(f"{tag} {s}" for s in recipe.signatures))
            recipes.append(clone)
            idx = by_recipe.get(recipe.id, [])
            chunks.extend(dataclasses.replace(dense.chunks[i], recipe_id=clone.id) for i in idx)
            jitter = vectors[idx] + rng.normal(0, 0.05, (len(idx), vectors.shape[1])).astype(np.float32)
            rows.append(jitter / np.linalg.norm(jitter, axis=1, keepdims=True))
    chunks = chunks[:n]
    matrix = np.ascontiguousarray(np.vstack(rows)[:n], dtype=np.float32)
    index = faiss.IndexFlatIP(matrix.shape[1])
    index.add(matrix)
    engine._dense = DenseIndex(chunks, index, dense.manifest)
    engine.retriever = Retriever(recipes, dense=engine._dense_search, chunks=chunks)


GENERATION = """
import json, time
from llama_cpp import Llama
from assistant.config import load_settings, model_path
from assistant.llm import LlamaCppBackend
from assistant.prompts import explain_messages
path = model_path(load_settings())
messages = explain_messages(["[SecretNotSetError] The secret GOOGLE_CLIENT_ID specified in the backend does not exist."],
    "Secret not set", "The backend reads a secret that has no value in this sandbox.", "Run npx ampx sandbox secret set GOOGLE_CLIENT_ID.")
def rate(stream):
    t = time.perf_counter(); n = sum(1 for _ in stream); return n / (time.perf_counter() - t), n
backend = LlamaCppBackend(path, n_ctx=2048); backend.load()
raw = Llama(model_path=str(path), n_ctx=2048, n_threads=os.cpu_count(), seed=7, verbose=False)
def raw_stream():
    for part in raw.create_chat_completion(messages=messages, max_tokens=160, temperature=0.0, top_p=1.0,
                                           repeat_penalty=1.15, stream=True):
        if part["choices"][0].get("delta", {}).get("content"):
            yield 1
rate(backend.stream(messages, 160)); rate(raw_stream())  # warm both up
ours, theirs = [], []
for _ in range(5):  # interleaved, so both see the same machine load
    ours.append(rate(backend.stream(messages, 160)))
    theirs.append(rate(raw_stream()))
best_ours, best_raw = sorted(o[0] for o in ours)[2], sorted(r[0] for r in theirs)[2]
print(json.dumps({"ampfix_tok_s": best_ours, "raw_tok_s": best_raw, "ratio": best_ours / best_raw, "tokens": ours[0][1]}))
""".replace("import json, time", "import json, os, time")

SCALE = """
import json, time, numpy as np, faiss, random
from assistant.bm25 import BM25
n = {n}
rng = np.random.default_rng(7)
vectors = rng.standard_normal((n, 384)).astype('float32')
vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
t = time.perf_counter(); index = faiss.IndexFlatIP(384); index.add(vectors); faiss.write_index(index, '/tmp/ampfix-bench.faiss')
build = time.perf_counter() - t
words = ['amplify', 'sandbox', 'secret', 'function', 'deploy', 'auth', 'data', 'storage', 'bucket', 'schema'] + [f'w{{i}}' for i in range(5000)]
random.seed(7)
docs = [[random.choice(words) for _ in range(60)] for _ in range(n)]
t = time.perf_counter(); bm = BM25(docs); bm_build = time.perf_counter() - t
q = vectors[:1]
times = []
for i in range(20):
    t = time.perf_counter(); index.search(vectors[i:i+1], 50); times.append((time.perf_counter() - t) * 1000)
lex = []
for i in range(5):
    t = time.perf_counter(); bm.scores(['secret', 'sandbox', 'w12', 'deploy']); lex.append((time.perf_counter() - t) * 1000)
print(json.dumps({{"chunks": n, "faiss_build_s": build, "bm25_build_s": bm_build, "faiss_query_ms": sorted(times)[10],
                  "bm25_query_ms": sorted(lex)[2]}}))
"""

EMBED = """
import json, time
from assistant.config import embedder_path, load_settings
from assistant.embed import SentenceTransformerEmbedder
from assistant.kbcache import load_knowledge
s = load_settings()
k = load_knowledge(s.knowledge_dir, s.index_dir)
texts = [c.text for c in k.chunks][:500]
e = SentenceTransformerEmbedder(embedder_path(s)); e.embed(texts[:8])
t = time.perf_counter(); e.embed(texts); secs = time.perf_counter() - t
print(json.dumps({"chunks_per_s": len(texts) / secs, "knowledge_chunks": len(k.chunks)}))
"""


def row(name: str, value: str, memory: float | None = None) -> None:
    mem = f"{memory:8.0f} MB" if memory is not None else ""
    print(f"{name:<52} {value:>24} {mem}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--skip-model", action="store_true")
    args = parser.parse_args()
    subprocess.run([str(AMPFIX), "index", "build"], check=True, stdout=subprocess.DEVNULL)
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    r = cold(["explain", str(EXAMPLE), "--no-llm", "--format", "json"], args.runs)
    row("explain --no-llm, cold process (exact match)", f"p50 {r['p50_s']:.2f} s", r["peak_mb"])
    dense_log = ROOT / "evals" / ".bench-dense.log"
    dense_log.write_text("amplify sandbox: my function times out and the frontend shows a blank page after deploy\n")
    r = cold(["explain", str(dense_log), "--no-llm", "--format", "json"], max(2, args.runs // 2))
    row("explain --no-llm, cold process (dense stage)", f"p50 {r['p50_s']:.2f} s", r["peak_mb"])
    dense_log.unlink()
    if not args.skip_model:
        r = cold(["explain", str(EXAMPLE), "--format", "json"], args.runs)
        row("explain with the bundled model, cold process", f"p50 {r['p50_s']:.2f} s", r["peak_mb"])
    for n in [None, *(int(x) for x in args.sizes.split(",")[1:])]:
        w = in_child(f"import sys; sys.path.insert(0, 'evals'); import json, bench; print(json.dumps(bench.warm_at({n})))")
        size = f"{w['chunks']} chunks{'' if n is None else ', scaled'}"
        row(f"warm diagnosis, {w['inputs']} real inputs ({size})",
            f"p50 {w['mix_p50_ms']:.1f} / p95 {w['mix_p95_ms']:.0f} ms", w["peak_mb"])
        row(f"warm diagnosis, questions, dense stage ({size})", f"p50 {w['dense_p50_ms']:.1f} ms")
    e = in_child(EMBED)
    row("embedding recipe chunks", f"{e['chunks_per_s']:.0f} chunks/s", e["peak_mb"])
    row(f"index build, the knowledge base ({e['knowledge_chunks']} chunks)",
        f"~{e['knowledge_chunks'] / e['chunks_per_s']:.0f} s embedding")
    if not args.skip_model:
        g = in_child(GENERATION)
        row("generation: ampfix backend", f"{g['ampfix_tok_s']:.1f} tok/s", g["peak_mb"])
        row("generation: raw llama-cpp-python", f"{g['raw_tok_s']:.1f} tok/s")
        row("generation ratio ampfix / raw", f"{g['ratio']:.3f}")
    for n in (int(x) for x in args.sizes.split(",")):
        s = in_child(SCALE.format(n=n))
        row(f"{n:>7} synthetic chunks: FAISS build / query", f"{s['faiss_build_s']:.2f} s / {s['faiss_query_ms']:.2f} ms", s["peak_mb"])
        row(f"{n:>7} synthetic chunks: BM25 build / query", f"{s['bm25_build_s']:.2f} s / {s['bm25_query_ms']:.1f} ms")


if __name__ == "__main__":
    main()
