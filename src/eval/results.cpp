#include "eval/results.h"

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "core/error.h"

namespace sparkv {

std::string ResultRow::key() const {
  const std::string base = fmt::format("{}|{}|{}|{}|{}", task, length, seed, depth, recipe);
  return cache == "f16" ? base : base + "|" + cache;
}

std::string ResultRow::method() const { return cache == "f16" ? recipe : recipe + " @" + cache; }

std::string ResultRow::method_label() const {
  const std::string l = label.empty() ? recipe : label;
  return cache == "f16" ? l : l + " @" + cache;
}

double ResultRow::attn_err_mean() const {
  if (attn_err.empty()) return 0.0;
  double s = 0;
  for (double e : attn_err) s += e;
  return s / static_cast<double>(attn_err.size());
}

nlohmann::json ResultRow::to_json() const {
  nlohmann::json j;
  j["suite"] = suite;
  j["task"] = task;
  j["length"] = length;
  j["seed"] = seed;
  j["sample"] = sample;
  if (depth >= 0) j["depth"] = depth;
  if (!id.empty()) j["id"] = id;
  j["recipe"] = recipe;
  j["cache"] = cache;
  j["label"] = label;
  j["metric"] = metric;
  j["score"] = score;
  j["pred"] = pred;
  j["answers"] = answers;
  j["n_prompt"] = n_prompt;
  j["n_generated"] = n_generated;
  j["stop"] = stop_reason;
  j["kv_bytes"] = kv_bytes;
  j["kv_bytes_full"] = kv_bytes_full;
  j["fidelity"] = {{"steps", fid_steps}, {"kl", fid_kl}, {"top1", fid_top1}, {"attn_err", attn_err}};
  j["t_prefill"] = t_prefill;
  j["t_compress"] = t_compress;
  j["t_decode"] = t_decode;
  return j;
}

ResultRow ResultRow::from_json(const nlohmann::json& j) {
  ResultRow r;
  auto need = [&](const char* k) -> const nlohmann::json& {
    SPARKV_CHECK(j.contains(k), "result row without field '{}'", k);
    return j.at(k);
  };
  try {
    r.suite = j.value("suite", "");
    r.task = need("task").get<std::string>();
    r.length = need("length").get<int64_t>();
    r.seed = need("seed").get<uint64_t>();
    r.sample = j.value("sample", 0);
    r.depth = j.value("depth", -1);
    r.id = j.value("id", "");
    r.recipe = need("recipe").get<std::string>();
    r.label = j.value("label", r.recipe);
    r.cache = j.value("cache", "f16");
    r.metric = j.value("metric", "");
    r.score = need("score").get<double>();
    r.pred = j.value("pred", "");
    r.answers = j.value("answers", std::vector<std::string>{});
    r.n_prompt = j.value("n_prompt", int64_t{0});
    r.n_generated = j.value("n_generated", 0);
    r.stop_reason = j.value("stop", "");
    r.kv_bytes = j.value("kv_bytes", size_t{0});
    r.kv_bytes_full = j.value("kv_bytes_full", size_t{0});
    if (j.contains("fidelity")) {
      const auto& f = j["fidelity"];
      r.fid_steps = f.value("steps", 0);
      r.fid_kl = f.value("kl", 0.0);
      r.fid_top1 = f.value("top1", 0.0);
      r.attn_err = f.value("attn_err", std::vector<double>{});
    }
    r.t_prefill = j.value("t_prefill", 0.0);
    r.t_compress = j.value("t_compress", 0.0);
    r.t_decode = j.value("t_decode", 0.0);
  } catch (const nlohmann::json::exception& e) {
    fail("result row: {}", e.what());
  }
  return r;
}

std::vector<ResultRow> load_results(const std::string& path) {
  std::vector<ResultRow> rows;
  std::ifstream in(path, std::ios::binary);
  if (!in.good()) return rows;
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(lines[i]);
    } catch (const nlohmann::json::exception& e) {
      if (i + 1 == lines.size()) break;  // the write an interruption cut short
      fail("{}:{}: malformed result row ({})", path, i + 1, e.what());
    }
    try {
      rows.push_back(ResultRow::from_json(j));
    } catch (const Error& e) {
      fail("{}:{}: {}", path, i + 1, e.what());
    }
  }
  return rows;
}

void repair_results(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size == 0) return;
  std::ifstream in(path, std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  if (all.back() == '\n') return;
  const size_t keep = all.rfind('\n') == std::string::npos ? 0 : all.rfind('\n') + 1;
  std::filesystem::resize_file(path, keep, ec);
  SPARKV_CHECK(!ec, "{}: cannot drop the partial last line ({})", path, ec.message());
}

void append_results(const std::string& path, const std::vector<ResultRow>& rows) {
  std::string buf;
  for (const ResultRow& r : rows) buf += r.to_json().dump() + "\n";
  std::ofstream out(path, std::ios::binary | std::ios::app);
  SPARKV_CHECK(out.good(), "{}: cannot open for appending", path);
  out << buf;
  out.flush();
  SPARKV_CHECK(out.good(), "{}: write failed", path);
}

}  // namespace sparkv
