// Reports from result rows: DIR/results.json (aggregates), DIR/report.md (task x method tables
// per length with the average, KV bytes per prompt token, % of the full cache and the fidelity
// metrics), DIR/results.csv, and PNG plots drawn by gnuplot under DIR/plots/ (accuracy vs KV
// bytes per method; needle heatmaps, length x depth). The plot scripts and data files stay next
// to the PNGs so a figure can be restyled without rerunning anything.
#pragma once

#include <string>
#include <vector>

#include "eval/results.h"

namespace sparkv {

struct ReportOptions {
  std::string title = "sparkv eval";
  std::string model;       // shown in the header when known
  double wall_seconds = 0; // the run's wall time, when known
  bool plots = true;
};

struct ReportFiles {
  std::vector<std::string> written;  // paths
  std::string plot_note;             // why plots are missing, if they are
};

ReportFiles write_report(const std::string& dir, const std::vector<ResultRow>& rows,
                         const ReportOptions& opts);

// "snapkv:budget=128+spark:ratio=0.8" -> "snapkv+spark:ratio=0.8": the eviction press's budget
// dropped, so one method's budgets form one line in the accuracy-vs-bytes plot.
std::string recipe_family(const std::string& label);

}  // namespace sparkv
