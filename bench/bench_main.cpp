// The single main() of sparkv_bench: every other bench/*.cpp only registers benchmarks, since
// CMake links the bench sources into one binary against benchmark::benchmark (not _main).
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();
