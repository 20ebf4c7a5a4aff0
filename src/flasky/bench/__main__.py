from flasky.bench.cli import bench

bench(prog_name="python -m flasky.bench")
