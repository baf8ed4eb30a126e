#include "eval/longbench.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace sparkv {

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SPARKV_CHECK(in.good(), "{}: cannot open", path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> string_list(const nlohmann::json& j, const char* field,
                                     const std::string& where) {
  std::vector<std::string> out;
  if (!j.contains(field) || j[field].is_null()) return out;
  SPARKV_CHECK(j[field].is_array(), "{}: field '{}' must be a list of strings", where, field);
  for (const auto& x : j[field]) {
    SPARKV_CHECK(x.is_string(), "{}: field '{}' must be a list of strings", where, field);
    out.push_back(x.get<std::string>());
  }
  return out;
}

void load_file(const std::filesystem::path& file, std::vector<LongBenchRow>* rows) {
  std::ifstream in(file, std::ios::binary);
  SPARKV_CHECK(in.good(), "{}: cannot open", file.string());
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r\n") == std::string::npos) continue;
    const std::string where = fmt::format("{}:{}", file.string(), n);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      fail("{}: not a JSON object ({})", where, e.what());
    }
    SPARKV_CHECK(j.is_object(), "{}: not a JSON object", where);
    LongBenchRow r;
    for (const char* f : {"context", "input"}) {
      SPARKV_CHECK(j.contains(f) && j[f].is_string(), "{}: missing string field '{}'", where, f);
    }
    r.context = j["context"].get<std::string>();
    r.input = j["input"].get<std::string>();
    SPARKV_CHECK(j.contains("answers"), "{}: missing field 'answers'", where);
    r.answers = string_list(j, "answers", where);
    SPARKV_CHECK(!r.answers.empty(), "{}: 'answers' is empty", where);
    r.all_classes = string_list(j, "all_classes", where);
    r.task = j.contains("dataset") && j["dataset"].is_string() ? j["dataset"].get<std::string>()
                                                                : file.stem().string();
    r.id = j.contains("_id") && j["_id"].is_string() ? j["_id"].get<std::string>()
                                                      : fmt::format("{}:{}", file.filename().string(), n);
    r.line = n;
    rows->push_back(std::move(r));
  }
}

}  // namespace

std::optional<LongBenchTask> longbench_task(const std::string& name_in) {
  std::string name = name_in;
  if (name.size() > 2 && name.compare(name.size() - 2, 2, "_e") == 0) name.resize(name.size() - 2);
  struct Row {
    const char* name;
    Metric metric;
    int max_new;
    bool chat, first_line, stop_nl;
  };
  static const Row kRows[] = {
      {"narrativeqa", Metric::kQaF1, 128, true, false, false},
      {"qasper", Metric::kQaF1, 128, true, false, false},
      {"multifieldqa_en", Metric::kQaF1, 64, true, false, false},
      {"hotpotqa", Metric::kQaF1, 32, true, false, false},
      {"2wikimqa", Metric::kQaF1, 32, true, false, false},
      {"musique", Metric::kQaF1, 32, true, false, false},
      {"gov_report", Metric::kRougeL, 512, true, false, false},
      {"qmsum", Metric::kRougeL, 512, true, false, false},
      {"multi_news", Metric::kRougeL, 512, true, false, false},
      {"trec", Metric::kClassification, 64, false, true, false},
      {"triviaqa", Metric::kQaF1, 32, false, true, false},
      {"samsum", Metric::kRougeL, 128, false, true, true},
      {"lsht", Metric::kClassification, 64, false, true, false},
      {"passage_count", Metric::kCount, 32, true, false, false},
      {"passage_retrieval_en", Metric::kRetrieval, 32, true, false, false},
      {"lcc", Metric::kCodeSim, 64, false, false, false},
      {"repobench-p", Metric::kCodeSim, 64, false, false, false},
  };
  for (const Row& r : kRows)
    if (name == r.name) return LongBenchTask{r.name, r.metric, r.max_new, r.chat, r.first_line, r.stop_nl};
  for (const char* zh : {"multifieldqa_zh", "dureader", "vcsum", "passage_retrieval_zh"})
    SPARKV_CHECK(name != zh,
                 "longbench: task '{}' needs a Chinese metric (jieba word segmentation), which "
                 "sparkv does not implement; pass metric=... to score it another way",
                 name_in);
  return std::nullopt;
}

std::vector<LongBenchRow> load_longbench(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  SPARKV_CHECK(fs::exists(path, ec), "{}: no such file or folder", path);
  std::vector<LongBenchRow> rows;
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(path))
      if (e.is_regular_file() && e.path().extension() == ".jsonl") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    SPARKV_CHECK(!files.empty(), "{}: no *.jsonl files in the folder", path);
    for (const auto& f : files) load_file(f, &rows);
  } else {
    load_file(path, &rows);
  }
  SPARKV_CHECK(!rows.empty(), "{}: no rows", path);
  return rows;
}

PromptTemplates PromptTemplates::load(const std::string& path) {
  const std::string text = read_all(path);
  PromptTemplates t;
  t.path_ = path;
  const size_t b = text.find_first_not_of(" \t\r\n");
  if (b != std::string::npos && text[b] == '{') {
    nlohmann::json j;
    bool ok = true;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception&) {
      ok = false;  // a plain template that happens to start with "{"
    }
    if (ok && j.is_object()) {
      for (const auto& [k, v] : j.items()) {
        SPARKV_CHECK(v.is_string(), "{}: template for '{}' is not a string", path, k);
        t.per_task_[k] = v.get<std::string>();
      }
      return t;
    }
  }
  t.single_ = true;
  t.all_ = text;
  return t;
}

PromptTemplates PromptTemplates::from_text(const std::string& text) {
  PromptTemplates t;
  t.single_ = true;
  t.all_ = text;
  t.path_ = "<text>";
  return t;
}

const std::string& PromptTemplates::for_task(const std::string& task) const {
  if (single_) return all_;
  auto it = per_task_.find(task);
  if (it == per_task_.end() && task.size() > 2 && task.compare(task.size() - 2, 2, "_e") == 0)
    it = per_task_.find(task.substr(0, task.size() - 2));
  SPARKV_CHECK(it != per_task_.end(), "{}: no prompt template for task '{}'", path_, task);
  return it->second;
}

std::string format_longbench_prompt(const std::string& tmpl, const LongBenchRow& row) {
  std::string out;
  out.reserve(tmpl.size() + row.context.size() + row.input.size());
  for (size_t i = 0; i < tmpl.size(); ++i) {
    const char c = tmpl[i];
    if (c == '{') {
      if (i + 1 < tmpl.size() && tmpl[i + 1] == '{') {
        out += '{';
        ++i;
        continue;
      }
      const size_t e = tmpl.find('}', i);
      SPARKV_CHECK(e != std::string::npos, "prompt template: unclosed '{{' at byte {}", i);
      const std::string field = tmpl.substr(i + 1, e - i - 1);
      if (field == "context") out += row.context;
      else if (field == "input") out += row.input;
      else fail("prompt template: unknown field '{{{}}}' (only {{context}} and {{input}})", field);
      i = e;
    } else if (c == '}') {
      SPARKV_CHECK(i + 1 < tmpl.size() && tmpl[i + 1] == '}',
                   "prompt template: single '}}' at byte {}", i);
      out += '}';
      ++i;
    } else {
      out += c;
    }
  }
  return out;
}

std::vector<int32_t> truncate_middle(const std::vector<int32_t>& ids, int64_t max_len) {
  SPARKV_CHECK(max_len > 0, "truncation length {} must be positive", max_len);
  if (static_cast<int64_t>(ids.size()) <= max_len) return ids;
  const size_t half = static_cast<size_t>(max_len / 2);
  std::vector<int32_t> out(ids.begin(), ids.begin() + half);
  out.insert(out.end(), ids.end() - half, ids.end());
  return out;
}

}  // namespace sparkv
