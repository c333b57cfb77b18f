"""Benchmarks: each module is run as `python -m benchmarks.<name>`, prints its figures and rewrites its marked
section of docs/benchmarks.md (benchmarks.common.write_section). Data is read from --data-dir, else
CHATREC_DATA_DIR, else ../shared/data beside the repository (benchmarks.common.data_root).

engine       top-N and rating prediction on MovieLens 100K, training time, serving latency
explain      explanation faithfulness, evidence fidelity, fallbacks (the evidence path the chat serves)
understanding  intent and slot accuracy of conversational understanding on the labelled dev set
imports      import speed (SQLite and PostgreSQL)
llm          LLM backend load time and tokens/s
chat_load    websocket load against a running server, or (--serve N) sustained load on processes it starts
faults       fault runs under load (docs/reliability.md); acklog: the nothing-lost check; servers: what they start
gpu          CUDA vs CPU for the torch models and the LLM backend
"""
