"""Benchmarks run by `synfab bench NAME`: each measures synfab beside a baseline in the same run."""
