#include "eval/report.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "eval/py_text.h"

namespace sparkv {

namespace {

struct Acc {
  double score = 0, kvpt = 0, pct = 0, kl = 0, top1 = 0, attn = 0;
  int n = 0, n_fid = 0;
  void add(const ResultRow& r) {
    score += r.score;
    kvpt += r.n_prompt > 0 ? static_cast<double>(r.kv_bytes) / r.n_prompt : 0.0;
    pct += r.kv_bytes_full > 0 ? 100.0 * r.kv_bytes / r.kv_bytes_full : 0.0;
    ++n;
    if (r.fid_steps > 0) {
      kl += r.fid_kl;
      top1 += r.fid_top1;
      attn += r.attn_err_mean();
      ++n_fid;
    }
  }
  double mean_score() const { return n ? 100.0 * score / n : 0.0; }
  double mean_kvpt() const { return n ? kvpt / n : 0.0; }
  double mean_pct() const { return n ? pct / n : 0.0; }
  double mean_kl() const { return n_fid ? kl / n_fid : 0.0; }
  double mean_top1() const { return n_fid ? top1 / n_fid : 0.0; }
  double mean_attn() const { return n_fid ? attn / n_fid : 0.0; }
};

template <typename T>
void push_unique(std::vector<T>& v, const T& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

std::string slug(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '_';
  return out.substr(0, 80);
}

// gnuplot strings in double quotes: escape backslash and quote.
std::string gq(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void write_file(const std::string& path, const std::string& text, ReportFiles* files) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  SPARKV_CHECK(out.good(), "{}: cannot write", path);
  out << text;
  SPARKV_CHECK(out.good(), "{}: write failed", path);
  if (files) files->written.push_back(path);
}

struct Grid {
  std::vector<int64_t> lengths;
  std::vector<std::string> tasks, recipes;
  std::map<std::string, std::string> label;                 // recipe -> label
  std::map<std::tuple<int64_t, std::string, std::string>, Acc> cell;  // (L, task, recipe)
  std::map<std::pair<int64_t, std::string>, Acc> method;    // (L, recipe), over every row
  std::map<std::tuple<std::string, int64_t, int>, Acc> needle;  // (recipe, L, depth)
  std::vector<int> depths;
};

Grid aggregate(const std::vector<ResultRow>& rows) {
  Grid g;
  for (const ResultRow& r : rows) {
    push_unique(g.lengths, r.length);
    push_unique(g.tasks, r.task);
    const std::string m = r.method();
    push_unique(g.recipes, m);
    g.label[m] = r.method_label();
    g.cell[{r.length, r.task, m}].add(r);
    g.method[{r.length, m}].add(r);
    if (r.depth >= 0) {
      push_unique(g.depths, r.depth);
      g.needle[{m, r.length, r.depth}].add(r);
    }
  }
  std::sort(g.lengths.begin(), g.lengths.end());
  std::sort(g.depths.begin(), g.depths.end());
  return g;
}

// Unweighted mean over the tasks present for (L, recipe), as RULER and LongBench average.
double task_average(const Grid& g, int64_t L, const std::string& recipe, int* n_tasks) {
  double s = 0;
  int n = 0;
  for (const std::string& t : g.tasks) {
    auto it = g.cell.find({L, t, recipe});
    if (it == g.cell.end()) continue;
    s += it->second.mean_score();
    ++n;
  }
  if (n_tasks) *n_tasks = n;
  return n ? s / n : 0.0;
}

double full_kvpt(const Grid& g, int64_t L) {
  auto it = g.method.find({L, "full"});
  return it == g.method.end() ? 0.0 : it->second.mean_kvpt();
}

std::string markdown(const Grid& g, const std::vector<ResultRow>& rows, const ReportOptions& o,
                     const std::vector<std::string>& plots) {
  std::string md = "# " + o.title + "\n\n";
  if (!o.model.empty()) md += "Model: `" + o.model + "`\n\n";
  double tp = 0, tc = 0, td = 0;
  std::set<std::string> samples;
  for (const ResultRow& r : rows) {
    if (samples.insert(fmt::format("{}|{}|{}|{}|{}", r.task, r.length, r.seed, r.depth, r.cache)).second)
      tp += r.t_prefill;
    tc += r.t_compress;
    td += r.t_decode;
  }
  md += fmt::format(
      "{} result rows, {} samples, {} recipes. Time spent: prefill {:.1f} s (once per sample), "
      "compression {:.1f} s, decoding {:.1f} s (summed over threads){}.\n\n",
      rows.size(), samples.size(), g.recipes.size(), tp, tc, td,
      o.wall_seconds > 0 ? fmt::format("; wall time of the last run {:.1f} s", o.wall_seconds) : "");
  md += "Scores are 100 x the mean per-sample score of each task's metric. *Avg* is the unweighted "
        "mean over the tasks. *KV B/tok* is the compressed cache's bytes per prompt token right "
        "after compression, *% full* its size relative to the full f16 cache (` @q8_0` etc. marks "
        "a run with another dense cache type). Fidelity against "
        "the full cache on the same prefill, over the first decoded tokens (teacher-forced): *KL* "
        "= mean next-token KL(full || method) in nats, *top-1* = argmax agreement, *attn err* = "
        "relative error of the attention outputs, mean over layers.\n\n";
  for (int64_t L : g.lengths) {
    md += fmt::format("## Length {}\n\n| method |", L);
    std::vector<std::string> tasks;
    for (const std::string& t : g.tasks)
      for (const std::string& r : g.recipes)
        if (g.cell.count({L, t, r})) {
          push_unique(tasks, t);
          break;
        }
    for (const std::string& t : tasks) md += " " + t + " |";
    md += " Avg | KV B/tok | % full | KL | top-1 | attn err |\n|---|";
    for (size_t i = 0; i < tasks.size() + 6; ++i) md += "---:|";
    md += "\n";
    for (const std::string& r : g.recipes) {
      auto m = g.method.find({L, r});
      if (m == g.method.end()) continue;
      md += "| `" + g.label.at(r) + "` |";
      for (const std::string& t : tasks) {
        auto it = g.cell.find({L, t, r});
        md += it == g.cell.end() ? " – |" : fmt::format(" {:.2f} |", it->second.mean_score());
      }
      const Acc& a = m->second;
      md += fmt::format(" **{:.2f}** | {:.0f} | {:.1f} | {:.4f} | {:.3f} | {:.4f} |\n",
                        task_average(g, L, r, nullptr), a.mean_kvpt(), a.mean_pct(), a.mean_kl(),
                        a.mean_top1(), a.mean_attn());
    }
    md += "\n";
  }
  if (!g.depths.empty()) {
    md += "## Needle grid (score by length x depth)\n\n";
    for (const std::string& r : g.recipes) {
      md += "`" + g.label.at(r) + "`\n\n| length \\ depth % |";
      for (int d : g.depths) md += fmt::format(" {} |", d);
      md += "\n|---|";
      for (size_t i = 0; i < g.depths.size(); ++i) md += "---:|";
      md += "\n";
      for (int64_t L : g.lengths) {
        md += fmt::format("| {} |", L);
        for (int d : g.depths) {
          auto it = g.needle.find({r, L, d});
          md += it == g.needle.end() ? " – |" : fmt::format(" {:.0f} |", it->second.mean_score());
        }
        md += "\n";
      }
      md += "\n";
    }
  }
  if (!plots.empty()) {
    md += "## Plots\n\n";
    for (const std::string& p : plots) md += "![" + p + "](" + p + ")\n\n";
  }
  return md;
}

nlohmann::json summary_json(const Grid& g, size_t n_rows) {
  nlohmann::json j;
  j["n_rows"] = n_rows;
  j["lengths"] = g.lengths;
  j["tasks"] = g.tasks;
  nlohmann::json methods = nlohmann::json::array();
  for (int64_t L : g.lengths)
    for (const std::string& r : g.recipes) {
      auto m = g.method.find({L, r});
      if (m == g.method.end()) continue;
      nlohmann::json e;
      e["length"] = L;
      e["recipe"] = r;
      e["label"] = g.label.at(r);
      int n_tasks = 0;
      e["avg"] = task_average(g, L, r, &n_tasks);
      e["n_tasks"] = n_tasks;
      e["n_samples"] = m->second.n;
      e["kv_bytes_per_token"] = m->second.mean_kvpt();
      e["pct_of_full"] = m->second.mean_pct();
      e["kl"] = m->second.mean_kl();
      e["top1"] = m->second.mean_top1();
      e["attn_err"] = m->second.mean_attn();
      nlohmann::json tasks = nlohmann::json::object();
      for (const std::string& t : g.tasks) {
        auto it = g.cell.find({L, t, r});
        if (it != g.cell.end()) tasks[t] = {{"score", it->second.mean_score()}, {"n", it->second.n}};
      }
      e["tasks"] = tasks;
      methods.push_back(e);
    }
  j["methods"] = methods;
  if (!g.depths.empty()) {
    nlohmann::json nd = nlohmann::json::array();
    for (const auto& [k, a] : g.needle)
      nd.push_back({{"recipe", std::get<0>(k)}, {"length", std::get<1>(k)}, {"depth", std::get<2>(k)},
                    {"score", a.mean_score()}, {"n", a.n}});
    j["needle"] = nd;
  }
  return j;
}

std::string csv(const Grid& g) {
  auto q = [](const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string o = "\"";
    for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
    return o + "\"";
  };
  std::string out = "length,task,recipe,label,n,score,kv_bytes_per_token,pct_of_full,kl,top1,attn_err\n";
  for (int64_t L : g.lengths)
    for (const std::string& r : g.recipes)
      for (const std::string& t : g.tasks) {
        auto it = g.cell.find({L, t, r});
        if (it == g.cell.end()) continue;
        const Acc& a = it->second;
        out += fmt::format("{},{},{},{},{},{:.4f},{:.2f},{:.3f},{:.6f},{:.4f},{:.6f}\n", L, q(t), q(r),
                           q(g.label.at(r)), a.n, a.mean_score(), a.mean_kvpt(), a.mean_pct(),
                           a.mean_kl(), a.mean_top1(), a.mean_attn());
      }
  return out;
}

// Single quotes for sh, so a folder with spaces or quotes survives.
std::string sh_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs a gnuplot script from its own folder (the scripts name their data files relatively);
// true on success.
bool run_gnuplot(const std::string& dir, const std::string& script, const std::string& log) {
  const std::string cmd =
      "cd " + sh_quote(dir) + " && gnuplot " + sh_quote(script) + " > " + sh_quote(log) + " 2>&1";
  return std::system(cmd.c_str()) == 0;
}

std::string pick_terminal(const std::string& dir) {
  const std::string probe = dir + "/.probe.gp";
  write_file(probe, "set terminal pngcairo\n", nullptr);
  const bool cairo = run_gnuplot(dir, ".probe.gp", ".probe.log");
  std::filesystem::remove(probe);
  std::filesystem::remove(dir + "/.probe.log");
  return cairo ? "pngcairo size 960,640 noenhanced font \",10\"" : "png size 960,640 noenhanced";
}

void plots(const std::string& dir, const Grid& g, ReportFiles* files, std::vector<std::string>* pngs) {
  namespace fs = std::filesystem;
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) {
    files->plot_note = "gnuplot not found: plots skipped (apt-get install gnuplot-nox)";
    return;
  }
  const std::string pdir = dir + "/plots";
  fs::create_directories(pdir);
  const std::string term = pick_terminal(pdir);
  std::vector<std::string> failed;
  auto render = [&](const std::string& name, const std::string& script, const std::string& data) {
    write_file(pdir + "/" + name + ".dat", data, files);
    write_file(pdir + "/" + name + ".gp", script, files);
    if (run_gnuplot(pdir, name + ".gp", name + ".log")) {
      fs::remove(pdir + "/" + name + ".log");
      files->written.push_back(pdir + "/" + name + ".png");
      pngs->push_back("plots/" + name + ".png");
    } else {
      failed.push_back(name);
    }
  };
  // Accuracy vs KV bytes: one series per method family and length, points in byte order.
  for (int64_t L : g.lengths) {
    std::map<std::string, std::vector<std::pair<double, double>>> fam;
    std::vector<std::string> fam_order;
    std::string labels;
    for (const std::string& r : g.recipes) {
      auto m = g.method.find({L, r});
      if (m == g.method.end()) continue;
      const double x = m->second.mean_kvpt(), y = task_average(g, L, r, nullptr);
      const std::string f = recipe_family(g.label.at(r));
      push_unique(fam_order, f);
      fam[f].push_back({x, y});
      labels += fmt::format("set label {} at {:.3f},{:.3f} offset 0.6,0.3 font \",7\" tc rgb \"#555555\"\n",
                            gq(g.label.at(r)), x, y);
    }
    std::string data, plot;
    for (size_t i = 0; i < fam_order.size(); ++i) {
      auto pts = fam[fam_order[i]];
      std::sort(pts.begin(), pts.end());
      data += "# " + fam_order[i] + "\n";
      for (const auto& [x, y] : pts) data += fmt::format("{:.4f} {:.4f}\n", x, y);
      data += "\n\n";
      plot += fmt::format("{}'accuracy_vs_kv_{}.dat' index {} using 1:2 with linespoints pt 7 title {}",
                          i ? ", \\\n     " : "plot ", L, i, gq(fam_order[i]));
    }
    const double full = full_kvpt(g, L);
    std::string script = "set terminal " + term + "\nset output 'accuracy_vs_kv_" + std::to_string(L) +
                         ".png'\nset title " + gq(fmt::format("accuracy vs KV cache size, length {}", L)) +
                         "\nset xlabel 'KV bytes per prompt token'\nset ylabel 'average score'\n"
                         "set grid\nset key below\nset yrange [0:100]\nset xrange [0:*]\n";
    if (full > 0) script += fmt::format("set arrow from {0:.3f}, graph 0 to {0:.3f}, graph 1 nohead dt 2 lc rgb '#999999'\n", full);
    script += labels + plot + "\n";
    render(fmt::format("accuracy_vs_kv_{}", L), script, data);
  }
  // Needle heatmaps, one per recipe: x = length index, y = depth index.
  if (!g.depths.empty()) {
    for (const std::string& r : g.recipes) {
      std::string data;
      bool any = false;
      for (size_t xi = 0; xi < g.lengths.size(); ++xi) {
        for (size_t yi = 0; yi < g.depths.size(); ++yi) {
          auto it = g.needle.find({r, g.lengths[xi], g.depths[yi]});
          any = any || it != g.needle.end();
          // A cell with no samples is NaN: gnuplot leaves it blank.
          data += it == g.needle.end() ? fmt::format("{} {} NaN\n", xi, yi)
                                       : fmt::format("{} {} {:.1f}\n", xi, yi, it->second.mean_score());
        }
        data += "\n";
      }
      if (!any) continue;
      std::string xt, yt;
      for (size_t i = 0; i < g.lengths.size(); ++i) xt += fmt::format("{}\"{}\" {}", i ? ", " : "", g.lengths[i], i);
      for (size_t i = 0; i < g.depths.size(); ++i) yt += fmt::format("{}\"{}\" {}", i ? ", " : "", g.depths[i], i);
      const std::string name = "needle_" + slug(g.label.at(r));
      const std::string script =
          "set terminal " + term + "\nset output '" + name + ".png'\nset title " +
          gq("needle: " + g.label.at(r)) + "\nset xlabel 'context length'\nset ylabel 'depth %'\n" +
          "set xtics (" + xt + ")\nset ytics (" + yt + ")\n" +
          fmt::format("set xrange [-0.5:{}.5]\nset yrange [-0.5:{}.5]\n", g.lengths.size() - 1, g.depths.size() - 1) +
          "set cbrange [0:100]\nset palette defined (0 '#b2182b', 50 '#fddbc7', 100 '#2166ac')\n"
          "set cblabel 'score'\nplot '" + name + ".dat' using 1:2:3 with image notitle, \\\n"
          "     '' using 1:2:($3 == $3 ? sprintf('%.0f', $3) : '') with labels notitle\n";
      render(name, script, data);
    }
  }
  if (!failed.empty())
    files->plot_note = "gnuplot failed on: " + join_strings(failed, ", ") + " (see plots/*.log)";
}

}  // namespace

std::string recipe_family(const std::string& label) {
  const std::vector<std::string> presses = split_on(label, "+");
  std::string out;
  for (size_t i = 0; i < presses.size(); ++i) {
    std::string p = presses[i];
    if (i == 0) {
      const size_t colon = p.find(':');
      if (colon != std::string::npos) {
        std::vector<std::string> kept;
        for (const std::string& kv : split_on(p.substr(colon + 1), ","))
          if (kv.rfind("budget=", 0) != 0 && kv.rfind("ratio=", 0) != 0) kept.push_back(kv);
        p = p.substr(0, colon) + (kept.empty() ? "" : ":" + join_strings(kept, ","));
      }
    }
    out += (i ? "+" : "") + p;
  }
  return out;
}

ReportFiles write_report(const std::string& dir, const std::vector<ResultRow>& rows,
                         const ReportOptions& opts) {
  std::filesystem::create_directories(dir);
  ReportFiles files;
  const Grid g = aggregate(rows);
  std::vector<std::string> pngs;
  if (opts.plots && !rows.empty()) plots(dir, g, &files, &pngs);
  write_file(dir + "/results.json", summary_json(g, rows.size()).dump(1) + "\n", &files);
  write_file(dir + "/results.csv", csv(g), &files);
  std::string md = markdown(g, rows, opts, pngs);
  if (!files.plot_note.empty()) md += "Note: " + files.plot_note + "\n";
  write_file(dir + "/report.md", md, &files);
  return files;
}

}  // namespace sparkv
