"""DirSync benchmarks at 1k/10k/100k objects: `bash bench/run.sh` (docs/benchmarks.md)."""
