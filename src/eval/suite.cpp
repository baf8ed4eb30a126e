#include "eval/suite.h"

#include <algorithm>
#include <map>

#include "core/error.h"
#include "eval/generators.h"
#include "eval/py_text.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace sparkv {

namespace {

bool starts_with(const std::vector<int32_t>& a, const std::vector<int32_t>& prefix) {
  return a.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), a.begin());
}

}  // namespace

std::string SuiteSpec::label() const {
  return kind == "longbench" ? "longbench:" + path : kind;
}

SuiteSpec parse_suite(const std::string& text) {
  SuiteSpec s;
  if (text == "ruler" || text == "passkey" || text == "needle") {
    s.kind = text;
    return s;
  }
  SPARKV_CHECK(text.rfind("longbench:", 0) == 0,
               "unknown --suite '{}' (ruler | passkey | needle | longbench:PATH[,template=FILE])",
               text);
  s.kind = "longbench";
  const std::vector<std::string> parts = split_on(text.substr(10), ",");
  s.path = parts[0];
  SPARKV_CHECK(!s.path.empty(), "--suite {}: missing the jsonl PATH after 'longbench:'", text);
  for (size_t i = 1; i < parts.size(); ++i) {
    const size_t eq = parts[i].find('=');
    SPARKV_CHECK(eq != std::string::npos, "--suite {}: '{}' is not key=value", text, parts[i]);
    const std::string k = parts[i].substr(0, eq), v = parts[i].substr(eq + 1);
    if (k == "template") {
      s.template_path = v;
    } else if (k == "metric") {
      s.metric = metric_from_name(v);
    } else if (k == "max_new") {
      try {
        s.max_new_tokens = std::stoi(v);
      } catch (const std::exception&) {
        fail("--suite {}: max_new='{}' is not an integer", text, v);
      }
      SPARKV_CHECK(s.max_new_tokens > 0, "--suite {}: max_new must be positive", text);
    } else if (k == "chat") {
      SPARKV_CHECK(v == "0" || v == "1", "--suite {}: chat must be 0 or 1, not '{}'", text, v);
      s.chat = v == "1";
    } else {
      fail("--suite {}: unknown key '{}' (template, metric, max_new, chat)", text, k);
    }
  }
  SPARKV_CHECK(!s.template_path.empty(),
               "--suite {}: LongBench needs a prompt template file: add ,template=FILE "
               "(a dataset2prompt-style JSON object or one plain template)",
               text);
  return s;
}

std::string ItemRef::key() const {
  return fmt::format("{}|{}|{}|{}", task, length, seed, depth);
}

Suite::Suite(const SuiteOptions& opts, const Tokenizer& tok) : opts_(opts), tok_(tok) {
  SPARKV_CHECK(!opts.lengths.empty(), "eval: no --length given");
  for (int64_t L : opts.lengths) SPARKV_CHECK(L >= 16, "eval: --length {} is too short", L);
  SPARKV_CHECK(opts.samples >= 0, "eval: --samples {} must be >= 0", opts.samples);
  chat_template_text_ = tok.chat_template();
  const std::string& kind = opts.suite.kind;
  if (kind == "longbench") {
    SPARKV_CHECK(opts.seed == 0,
                 "eval: --seed draws generated samples; a longbench file has fixed rows");
    lb_rows_ = load_longbench(opts.suite.path);
    templates_ = std::make_unique<PromptTemplates>(PromptTemplates::load(opts.suite.template_path));
    std::vector<std::string> order;  // tasks in order of first appearance
    std::map<std::string, std::vector<size_t>> by_task;
    for (size_t i = 0; i < lb_rows_.size(); ++i) {
      const std::string& t = lb_rows_[i].task;
      if (!by_task.count(t)) order.push_back(t);
      by_task[t].push_back(i);
    }
    for (const std::string& t : opts.tasks)
      SPARKV_CHECK(by_task.count(t), "eval: --tasks names '{}', which {} does not contain", t,
                   opts.suite.path);
    for (int64_t L : opts.lengths)
      for (const std::string& t : order) {
        if (!opts.tasks.empty() &&
            std::find(opts.tasks.begin(), opts.tasks.end(), t) == opts.tasks.end())
          continue;
        const auto& rows = by_task[t];
        const size_t n =
            opts.samples > 0 ? std::min<size_t>(rows.size(), opts.samples) : rows.size();
        for (size_t i = 0; i < n; ++i) {
          ItemRef r;
          r.task = t;
          r.length = L;
          r.seed = rows[i];
          r.sample = static_cast<int>(i);
          r.id = lb_rows_[rows[i]].id;
          items_.push_back(r);
        }
      }
    return;
  }
  SPARKV_CHECK(opts.samples > 0, "eval: --samples must be positive for the {} suite", kind);
  SPARKV_CHECK(opts.seed < (uint64_t{1} << 20), "eval: --seed must be below 2^20");
  std::vector<std::string> tasks = kind == "ruler"     ? ruler_tasks()
                                   : kind == "passkey" ? std::vector<std::string>{"passkey"}
                                                       : std::vector<std::string>{"needle"};
  if (!opts.tasks.empty()) {
    for (const std::string& t : opts.tasks)
      SPARKV_CHECK(kind != "needle" && is_generator_task(t),
                   "eval: --tasks names '{}', not a task of the {} suite (valid: passkey, {})", t,
                   kind, join_strings(ruler_tasks(), ", "));
    tasks = opts.tasks;
  }
  for (int64_t L : opts.lengths) {
    if (kind == "needle") {
      SPARKV_CHECK(!opts.depths.empty(), "eval: the needle suite needs at least one depth");
      for (int d : opts.depths) {
        depth_index_from_percent(d);  // validates
        for (int i = 0; i < opts.samples; ++i) {
          ItemRef r;
          r.task = "needle";
          r.length = L;
          r.seed = kEvalSeedBase + (opts.seed << 32) + static_cast<uint64_t>(i);
          r.sample = i;
          r.depth = d;
          items_.push_back(r);
        }
      }
      continue;
    }
    for (const std::string& t : tasks)
      for (int i = 0; i < opts.samples; ++i) {
        ItemRef r;
        r.task = t;
        r.length = L;
        r.seed = kEvalSeedBase + (opts.seed << 32) + static_cast<uint64_t>(i);
        r.sample = i;
        items_.push_back(r);
      }
  }
}

Suite::~Suite() = default;

EvalItem Suite::prepare(const ItemRef& ref) const {
  return opts_.suite.kind == "longbench" ? prepare_longbench(ref) : prepare_generated(ref);
}

std::vector<int32_t> Suite::wrap_chat(const std::string& user_text) const {
  SPARKV_CHECK(!chat_template_text_.empty(),
               "eval: chat wrapping asked for, but the tokenizer has no chat template");
  const std::string bos = tok_.bos_id() >= 0 ? tok_.token_text(tok_.bos_id()) : "";
  const std::string eos = tok_.eos_id() >= 0 ? tok_.token_text(tok_.eos_id()) : "";
  const ChatTemplate tmpl = ChatTemplate::from_text(chat_template_text_, bos, eos);
  return tok_.encode(tmpl.render({{"user", user_text}}, true), /*add_bos=*/false,
                     /*parse_special=*/true);
}

EvalItem Suite::prepare_generated(const ItemRef& ref) const {
  const TokenCounter count = token_counter(tok_);
  const TaskSample s =
      ref.task == "needle"
          ? make_needle_sample(ref.seed, ref.length, depth_index_from_percent(ref.depth), count)
          : make_sample(ref.task, ref.seed, ref.length, count);
  EvalItem it;
  it.ref = ref;
  it.max_new_tokens = s.max_new_tokens;
  it.metric = Metric::kStringMatchAll;
  it.answers = s.answers;
  const std::string ctx_q = s.context + s.question;
  if (opts_.chat) {
    it.prefill_ids = wrap_chat(ctx_q);
    it.answer_ids = tok_.encode(s.answer_prefix, false, false);
    return it;
  }
  // The training format is BOS + tokens(prompt); split it where context + question ends so the
  // model sees exactly the token sequence it was trained on (the split regex makes the boundary
  // clean in practice; encode the prefix alone only if it is not).
  const std::vector<int32_t> whole = tok_.encode(s.prompt(), false, false);
  const std::vector<int32_t> head = tok_.encode(ctx_q, false, false);
  if (tok_.bos_id() >= 0) it.prefill_ids.push_back(tok_.bos_id());
  it.prefill_ids.insert(it.prefill_ids.end(), head.begin(), head.end());
  if (starts_with(whole, head))
    it.answer_ids.assign(whole.begin() + head.size(), whole.end());
  else
    it.answer_ids = tok_.encode(s.answer_prefix, false, false);
  return it;
}

EvalItem Suite::prepare_longbench(const ItemRef& ref) const {
  const LongBenchRow& row = lb_rows_.at(ref.seed);
  const SuiteSpec& sp = opts_.suite;
  const std::optional<LongBenchTask> info = longbench_task(row.task);
  SPARKV_CHECK(info || (sp.metric && sp.max_new_tokens > 0),
               "longbench: unknown task '{}' ({}); give metric=NAME and max_new=N in --suite",
               row.task, row.id);
  EvalItem it;
  it.ref = ref;
  it.metric = sp.metric ? *sp.metric : info->metric;
  it.max_new_tokens = sp.max_new_tokens > 0 ? sp.max_new_tokens : info->max_new_tokens;
  it.first_line_only = info && info->first_line_only;
  it.stop_at_newline = info && info->stop_at_newline;
  it.answers = row.answers;
  it.all_classes = row.all_classes;
  SPARKV_CHECK(it.metric != Metric::kClassification || !it.all_classes.empty(),
               "longbench: {} is scored by classification but has no 'all_classes'", row.id);
  const bool chat =
      (sp.chat >= 0 ? sp.chat == 1 : info && info->chat) && !chat_template_text_.empty();
  const std::string text = format_longbench_prompt(templates_->for_task(row.task), row);
  const std::vector<int32_t> ids = tok_.encode(text, false, false);
  const int64_t overhead = chat ? static_cast<int64_t>(wrap_chat("").size())
                                : (tok_.add_bos() && tok_.bos_id() >= 0 ? 1 : 0);
  int64_t budget = ref.length - it.max_new_tokens - overhead;
  // Truncating in the middle and re-tokenising can shift a token or two; shrink until it fits.
  for (int attempt = 0; attempt < 4; ++attempt) {
    SPARKV_CHECK(budget > 1,
                 "longbench: --length {} leaves no room for {}'s prompt ({} new tokens)",
                 ref.length, row.task, it.max_new_tokens);
    std::string t = text;
    if (static_cast<int64_t>(ids.size()) > budget) {
      const std::vector<int32_t> cut = truncate_middle(ids, budget);
      const size_t half = cut.size() / 2;
      t = tok_.decode(std::vector<int32_t>(cut.begin(), cut.begin() + half), true) +
          tok_.decode(std::vector<int32_t>(cut.begin() + half, cut.end()), true);
    }
    if (chat) {
      it.prefill_ids = wrap_chat(t);
    } else {
      it.prefill_ids.clear();
      if (tok_.add_bos() && tok_.bos_id() >= 0) it.prefill_ids.push_back(tok_.bos_id());
      const std::vector<int32_t> body = tok_.encode(t, false, false);
      it.prefill_ids.insert(it.prefill_ids.end(), body.begin(), body.end());
    }
    const int64_t excess =
        static_cast<int64_t>(it.prefill_ids.size()) + it.max_new_tokens - ref.length;
    if (excess <= 0) break;
    budget -= excess;
  }
  return it;
}

}  // namespace sparkv
