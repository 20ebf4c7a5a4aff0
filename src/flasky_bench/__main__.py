from flasky_bench.cli import bench

bench(prog_name="python -m flasky_bench")
