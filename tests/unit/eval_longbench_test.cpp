// The LongBench loader on hand-made jsonl fixtures (tests/golden/eval/longbench/): fields, task
// table, templates, middle truncation, errors, and each fixture row's hand-computed score
// ("pred" / "expected_score" are extra fields the loader ignores).
#include <fstream>
#include <memory>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "eval/longbench.h"
#include "eval/suite.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace sparkv {
namespace {

const std::string kDir = std::string(SPARKV_SOURCE_DIR) + "/tests/golden/eval/longbench";

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(EvalLongBench, LoadsRowsAndScoresHandComputedPredictions) {
  const std::vector<LongBenchRow> rows = load_longbench(kDir + "/rows.jsonl");
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[0].task, "qasper");
  EXPECT_EQ(rows[0].id, "q1");
  EXPECT_EQ(rows[0].answers, (std::vector<std::string>{"3.5M parameters", "unanswerable"}));
  EXPECT_TRUE(rows[0].all_classes.empty());  // null
  EXPECT_EQ(rows[1].all_classes.size(), 3u);
  std::ifstream in(kDir + "/rows.jsonl");
  std::string line;
  for (const LongBenchRow& r : rows) {
    ASSERT_TRUE(std::getline(in, line));
    const nlohmann::json j = nlohmann::json::parse(line);
    const auto task = longbench_task(r.task);
    ASSERT_TRUE(task.has_value()) << r.task;
    const double got = score_sample(task->metric, j["pred"].get<std::string>(), r.answers,
                                    r.all_classes, task->first_line_only);
    EXPECT_NEAR(got, j["expected_score"].get<double>(), 1e-12) << r.task;
  }
}

TEST(EvalLongBench, TaskTable) {
  const auto trec = longbench_task("trec");
  ASSERT_TRUE(trec);
  EXPECT_EQ(trec->metric, Metric::kClassification);
  EXPECT_EQ(trec->max_new_tokens, 64);
  EXPECT_FALSE(trec->chat);
  EXPECT_TRUE(trec->first_line_only);
  const auto samsum = longbench_task("samsum_e");  // LongBench-E maps to the base task
  ASSERT_TRUE(samsum);
  EXPECT_TRUE(samsum->stop_at_newline);
  EXPECT_EQ(samsum->max_new_tokens, 128);
  EXPECT_EQ(longbench_task("gov_report")->metric, Metric::kRougeL);
  EXPECT_EQ(longbench_task("gov_report")->max_new_tokens, 512);
  EXPECT_EQ(longbench_task("repobench-p")->metric, Metric::kCodeSim);
  EXPECT_TRUE(longbench_task("hotpotqa")->chat);
  EXPECT_FALSE(longbench_task("my_task").has_value());
  EXPECT_NE(error_of([] { longbench_task("dureader"); }).find("jieba"), std::string::npos);
}

TEST(EvalLongBench, FolderLoadsJsonlInNameOrderWithFallbacks) {
  const std::vector<LongBenchRow> rows = load_longbench(kDir + "/dir");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].task, "trec");         // a_trec.jsonl first; "dataset" wins over the stem
  EXPECT_EQ(rows[1].task, "narrativeqa");  // no "dataset": the file's stem
  EXPECT_EQ(rows[1].id, "narrativeqa.jsonl:1");
  EXPECT_EQ(rows[2].id, "n2");
  EXPECT_EQ(rows[2].line, 3);  // the blank line counts
}

TEST(EvalLongBench, MalformedRowsNameFileAndLine) {
  EXPECT_NE(error_of([] { load_longbench(kDir + "/bad.jsonl"); }).find("bad.jsonl:2: missing field 'answers'"),
            std::string::npos);
  EXPECT_NE(error_of([] { load_longbench(kDir + "/none.jsonl"); }).find("no such file"), std::string::npos);
  test::TempDir tmp;
  test::write_text(tmp.file("x.jsonl"), "{\"input\": 1, \"context\": \"c\", \"answers\": [\"a\"]}\n");
  EXPECT_NE(error_of([&] { load_longbench(tmp.file("x.jsonl")); }).find("x.jsonl:1: missing string field 'input'"),
            std::string::npos);
  test::write_text(tmp.file("y.jsonl"), "{not json\n");
  EXPECT_NE(error_of([&] { load_longbench(tmp.file("y.jsonl")); }).find("y.jsonl:1: not a JSON object"),
            std::string::npos);
}

TEST(EvalLongBench, TemplatesFormatAndErrors) {
  const PromptTemplates t = PromptTemplates::load(kDir + "/templates.json");
  LongBenchRow row;
  row.context = "CTX";
  row.input = "IN";
  EXPECT_EQ(format_longbench_prompt(t.for_task("passage_count"), row),
            "CTX\n\nHow many distinct paragraphs are there? Reply like {\"n\": 3}.\n\nThe final answer is: ");
  EXPECT_EQ(format_longbench_prompt(t.for_task("qasper_e"), row),
            "Read the article and answer briefly.\n\nArticle: CTX\n\nQuestion: IN\n\nAnswer:");
  EXPECT_NE(error_of([&] { t.for_task("gov_report"); }).find("no prompt template for task 'gov_report'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { format_longbench_prompt("{context} {answer}", row); }).find("unknown field '{answer}'"),
            std::string::npos);
  EXPECT_THROW(format_longbench_prompt("a } b", row), Error);
  EXPECT_THROW(format_longbench_prompt("a { b", row), Error);
  // A plain text file is one template for every task.
  test::TempDir tmp;
  test::write_text(tmp.file("t.txt"), "{input}: {context}");
  EXPECT_EQ(format_longbench_prompt(PromptTemplates::load(tmp.file("t.txt")).for_task("any"), row), "IN: CTX");
}

TEST(EvalLongBench, TruncateMiddle) {
  const std::vector<int32_t> ids = {1, 2, 3, 4, 5, 6, 7};
  EXPECT_EQ(truncate_middle(ids, 7), ids);
  EXPECT_EQ(truncate_middle(ids, 4), (std::vector<int32_t>{1, 2, 6, 7}));
  EXPECT_EQ(truncate_middle(ids, 5), (std::vector<int32_t>{1, 2, 6, 7}));  // int(5/2) = 2 each side
  EXPECT_THROW(truncate_middle(ids, 0), Error);
}

TEST(EvalLongBench, SuitePreparesTruncatedChatAndPlainPrompts) {
  const auto tok = Tokenizer::from_hf(std::string(SPARKV_SOURCE_DIR) + "/tests/golden/eval");
  test::TempDir tmp;
  std::string ctx;
  for (int i = 0; i < 400; ++i) ctx += "The wind blows on. ";
  nlohmann::json a = {{"dataset", "qasper"}, {"input", "Why?"}, {"context", "START " + ctx + " END"},
                      {"answers", {"x"}}, {"_id", "a"}};
  nlohmann::json b = {{"dataset", "trec"}, {"input", "Type:"}, {"context", "short"},
                      {"answers", {"Other"}}, {"all_classes", {"Other"}}, {"_id", "b"}};
  test::write_text(tmp.file("d.jsonl"), a.dump() + "\n" + b.dump() + "\n");
  SuiteOptions so;
  so.suite = parse_suite("longbench:" + tmp.file("d.jsonl") + ",template=" + kDir + "/templates.json");
  so.lengths = {512};
  so.samples = 0;
  const Suite suite(so, *tok);
  ASSERT_EQ(suite.items().size(), 2u);
  const EvalItem qa = suite.prepare(suite.items()[0]);
  EXPECT_EQ(qa.max_new_tokens, 128);
  EXPECT_LE(static_cast<int64_t>(qa.prefill_ids.size()) + qa.max_new_tokens, 512);
  EXPECT_GT(static_cast<int64_t>(qa.prefill_ids.size()) + qa.max_new_tokens, 500);  // truncated, not emptied
  EXPECT_TRUE(qa.answer_ids.empty());
  const std::string text = tok->decode(qa.prefill_ids);
  EXPECT_EQ(text.rfind("<|im_start|>user\nRead the article", 0), 0u) << text.substr(0, 60);  // chat
  EXPECT_NE(text.find("START"), std::string::npos);  // both ends survive the middle cut
  EXPECT_NE(text.find("END"), std::string::npos);
  const EvalItem tr = suite.prepare(suite.items()[1]);
  EXPECT_EQ(tr.prefill_ids[0], tok->bos_id());  // no chat template for trec: BOS + prompt
  EXPECT_EQ(tok->decode(tr.prefill_ids, true), "Classify the question.\n\nshortType:");
  EXPECT_TRUE(tr.first_line_only);
  EXPECT_EQ(tr.metric, Metric::kClassification);
  // Only tasks that exist may be selected.
  so.tasks = {"gov_report"};
  EXPECT_THROW(Suite(so, *tok), Error);
  EXPECT_THROW(parse_suite("longbench:x.jsonl"), Error);  // no template
  EXPECT_THROW(parse_suite("longbench:x.jsonl,template=t,foo=1"), Error);
  EXPECT_EQ(parse_suite("longbench:x.jsonl,template=t,metric=qa_f1,max_new=7,chat=0").max_new_tokens, 7);
  EXPECT_THROW(parse_suite("rulers"), Error);
}

}  // namespace
}  // namespace sparkv
