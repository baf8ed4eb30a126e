// The single main() of sparkv_bench: every other bench/*.cpp only registers benchmarks, since
// CMake links the bench sources into one binary against benchmark::benchmark (not _main).
//
// The reference bandwidth is measured once, first, before any benchmark allocates its data, and
// every "% of triad" of the run is taken against that one figure. (On the shared 2-core VM the
// triad moves between two levels, ~48 and ~71 GB/s, over minutes, whatever the process does:
// compare figures within one run, and note which level the run saw.)
#include <benchmark/benchmark.h>

#include "bench_common.h"

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  sparkv::bench::triad_reference_gbs();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
