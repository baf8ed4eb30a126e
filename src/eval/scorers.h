// Scorers, reproducing the reference implementations score for score (spec
// baselines-and-evals.md §5.1, §5.2): RULER string_match_all / string_match_part; LongBench qa_f1,
// rouge-L (pltrdy `rouge`, set semantics), classification (with its skip-after-removal quirk),
// count, retrieval and code_sim (fuzzywuzzy ratio on the python-Levenshtein path). Every metric
// returns a per-sample score in [0, 1]; task scores are 100 x the mean.
#pragma once

#include <string>
#include <vector>

namespace sparkv {

// RULER: strip, delete \x00-\x1f, strip; case-insensitive substring tests against the golds.
std::string ruler_postprocess(const std::string& pred);
double string_match_all(const std::string& pred, const std::vector<std::string>& golds);
double string_match_part(const std::string& pred, const std::vector<std::string>& golds);

// LongBench normalize_answer: lower, drop ASCII punctuation, articles -> " ", collapse spaces.
std::string normalize_answer(const std::string& s);
double qa_f1_score(const std::string& pred, const std::string& gold);
// pltrdy Rouge().get_scores([pred], [gold], avg=True)["rouge-l"]["f"], 0.0 where it would raise
// (no sentence on either side, or Python's recursion limit in the LCS backtrack).
double rouge_l_score(const std::string& pred, const std::string& gold);
double classification_score(const std::string& pred, const std::string& gold,
                            const std::vector<std::string>& all_classes);
double count_score(const std::string& pred, const std::string& gold);
double retrieval_score(const std::string& pred, const std::string& gold);
double code_sim_score(const std::string& pred, const std::string& gold);
// fuzzywuzzy fuzz.ratio with python-Levenshtein: round(100 * 2*LCS/(len1+len2)), half to even,
// over code points; 100 for equal strings, 0 when one is empty.
int fuzz_ratio(const std::string& a, const std::string& b);

enum class Metric {
  kStringMatchAll,
  kStringMatchPart,
  kQaF1,
  kRougeL,
  kClassification,
  kCount,
  kRetrieval,
  kCodeSim,
};
const char* metric_name(Metric m);
Metric metric_from_name(const std::string& name);  // throws listing the valid names

// One sample's score. RULER metrics take all golds at once; LongBench metrics take the max over
// golds, after keeping only the first line of the prediction when first_line_only (trec,
// triviaqa, samsum, lsht).
double score_sample(Metric m, const std::string& pred, const std::vector<std::string>& golds,
                    const std::vector<std::string>& all_classes = {}, bool first_line_only = false);

}  // namespace sparkv
