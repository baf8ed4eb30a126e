// Tokenizer::from_hf: HF tokenizer.json (+ tokenizer_config.json beside it) for byte-level BPE
// (Llama-3, Qwen) and for SentencePiece-converted BPE files (Llama-2 / Mistral: byte_fallback,
// Prepend + Replace normalizer), engine-and-formats.md §2.6.
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/json_depth.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace sparkv {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Real tokenizer.json files stay under ~50 MB; the cap bounds what a hostile path makes us read.
constexpr uintmax_t kMaxTokenizerJsonBytes = uintmax_t{256} << 20;

json read_json(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  SPARKV_CHECK(in.good(), "{}: cannot open", path.string());
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  SPARKV_CHECK(ec || size <= kMaxTokenizerJsonBytes,
               "{}: {} bytes is implausibly large for a tokenizer file (limit {} bytes)",
               path.string(), size, kMaxTokenizerJsonBytes);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  // The normalizer / pre-tokenizer readers recurse and messages dump() sub-trees.
  check_json_depth(text, path.string());
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    fail("{}: malformed JSON: {}", path.string(), e.what());
  }
}

// bos_token / eos_token are either a string or {"content": "..."}; null means none.
std::string token_field(const json& cfg, const char* key) {
  if (!cfg.contains(key) || cfg[key].is_null()) return "";
  const json& v = cfg[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  return "";
}

// chat_template is a string or a list of {name, template}; the "default" entry is the chat one.
std::string chat_template_field(const json& cfg) {
  if (!cfg.contains("chat_template")) return "";
  const json& t = cfg["chat_template"];
  if (t.is_string()) return t.get<std::string>();
  if (t.is_array())
    for (const json& e : t)
      if (e.value("name", "") == "default" && e.contains("template")) return e["template"];
  return "";
}

struct Normalizer {
  bool nfc = false;
  bool spm_prefix = false;  // Prepend "▁"
  bool spm_spaces = false;  // Replace " " -> "▁"
};

void parse_normalizer(const json& n, const std::string& src, Normalizer& out) {
  if (n.is_null()) return;
  const std::string type = n.value("type", "");
  if (type == "NFC") {
    out.nfc = true;
  } else if (type == "Sequence") {
    for (const json& e : n.at("normalizers")) parse_normalizer(e, src, out);
  } else if (type == "Prepend" && n.value("prepend", "") == "\xE2\x96\x81") {
    out.spm_prefix = true;
  } else if (type == "Replace" && n.contains("pattern") && n["pattern"].value("String", "") == " " &&
             n.value("content", "") == "\xE2\x96\x81") {
    out.spm_spaces = true;
  } else {
    fail("{}: normalizer '{}' is not supported (known: NFC, SentencePiece Prepend/Replace)", src,
         n.dump().substr(0, 120));
  }
}

// Returns the split regex of a byte-level pre-tokenizer.
std::string parse_pre_tokenizer(const json& p, const std::string& src) {
  SPARKV_CHECK(!p.is_null(), "{}: a byte-level BPE tokenizer needs a pre_tokenizer", src);
  const std::string type = p.value("type", "");
  if (type == "ByteLevel") {
    SPARKV_CHECK(!p.value("add_prefix_space", false),
                 "{}: ByteLevel add_prefix_space = true is not supported", src);
    return p.value("use_regex", true) ? kGpt2SplitPattern : "";
  }
  if (type == "Split") {
    SPARKV_CHECK(p.contains("pattern") && p["pattern"].contains("Regex"),
                 "{}: only Split pre-tokenizers with a Regex pattern are supported", src);
    SPARKV_CHECK(p.value("behavior", "") == "Isolated" && !p.value("invert", false),
                 "{}: Split behavior '{}' (invert {}) is not supported (known: Isolated)", src,
                 p.value("behavior", ""), p.value("invert", false));
    return p["pattern"]["Regex"].get<std::string>();
  }
  if (type == "Sequence") {
    std::string pattern;
    for (const json& e : p.at("pretokenizers")) {
      const std::string r = parse_pre_tokenizer(e, src);
      if (r.empty()) continue;
      SPARKV_CHECK(pattern.empty(), "{}: more than one split regex in the pre_tokenizer", src);
      pattern = r;
    }
    return pattern;
  }
  fail("{}: pre_tokenizer '{}' is not supported (known: Split, ByteLevel, Sequence)", src, type);
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_hf(const std::string& path_in) {
  fs::path path(path_in);
  if (fs::is_directory(path)) path /= "tokenizer.json";
  const std::string src = path.string();
  const json tj = read_json(path);
  json cfg = json::object();
  const fs::path cfg_path = path.parent_path() / "tokenizer_config.json";
  if (fs::exists(cfg_path)) cfg = read_json(cfg_path);

  try {
    SPARKV_CHECK(tj.is_object() && tj.contains("model") && tj["model"].is_object(),
                 "{}: no \"model\" object", src);
    const json& model = tj["model"];
    SPARKV_CHECK(model.value("type", "BPE") == "BPE",
                 "{}: model type '{}' is not supported (known: BPE)", src, model.value("type", ""));
    SPARKV_CHECK(model.contains("vocab") && model["vocab"].is_object() && !model["vocab"].empty(),
                 "{}: model.vocab is missing or empty", src);
    SPARKV_CHECK(model.contains("merges") && model["merges"].is_array() && !model["merges"].empty(),
                 "{}: model.merges is missing or empty", src);

    // Vocab and added tokens together define the id space.
    std::map<int64_t, std::string> by_id;
    for (const auto& [tok, id] : model["vocab"].items()) {
      SPARKV_CHECK(id.is_number_integer() && id.get<int64_t>() >= 0,
                   "{}: model.vocab['{}'] is not a non-negative integer id", src, tok);
      by_id[id.get<int64_t>()] = tok;
    }
    std::vector<AddedToken> added;
    if (tj.contains("added_tokens") && tj["added_tokens"].is_array()) {
      for (const json& a : tj["added_tokens"]) {
        AddedToken t;
        t.id = a.at("id").get<int32_t>();
        t.content = a.at("content").get<std::string>();
        t.special = a.value("special", false);
        t.lstrip = a.value("lstrip", false);
        t.rstrip = a.value("rstrip", false);
        SPARKV_CHECK(t.id >= 0, "{}: added token '{}' has a negative id", src, t.content);
        by_id[t.id] = t.content;
        added.push_back(std::move(t));
      }
    }
    const int64_t n = by_id.rbegin()->first + 1;
    SPARKV_CHECK(n <= (int64_t{1} << 24), "{}: token id {} is implausibly large", src, n - 1);
    // Holes in the id space become "<unused_N>" placeholders. Real files have none or a few;
    // bounding them by the ids the file defines keeps a 3 KB file with one id near 2^24 from
    // costing gigabytes and minutes (found by fuzz_tokenizer_json as a slow unit).
    const int64_t defined = static_cast<int64_t>(by_id.size());
    SPARKV_CHECK(n <= 2 * defined + 1024,
                 "{}: token id {} leaves {} of {} ids undefined (the id space is implausibly sparse)",
                 src, n - 1, n - defined, n);
    std::vector<std::string> tokens(n);
    std::vector<int32_t> types(n, kTokenNormal);
    for (int64_t i = 0; i < n; ++i) {
      auto it = by_id.find(i);
      if (it != by_id.end()) {
        tokens[i] = it->second;
      } else {
        // A hole in the id space: keep ids aligned with the model's embedding rows.
        tokens[i] = "<unused_" + std::to_string(i) + ">";
        types[i] = kTokenUnused;
      }
    }
    for (const AddedToken& t : added) types[t.id] = t.special ? kTokenControl : kTokenUserDefined;

    std::vector<std::pair<std::string, std::string>> merges;
    merges.reserve(model["merges"].size());
    for (const json& m : model["merges"]) {
      if (m.is_string()) {
        const std::string s = m.get<std::string>();
        const size_t sp = s.find(' ', 1);
        SPARKV_CHECK(sp != std::string::npos && sp + 1 < s.size(),
                     "{}: merge '{}' is not 'left right'", src, s);
        merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
      } else {
        SPARKV_CHECK(m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string(),
                     "{}: merge {} is neither 'a b' nor [a, b]", src, m.dump());
        merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      }
    }

    auto id_of = [&](const std::string& text) -> int32_t {
      if (text.empty()) return -1;
      for (const AddedToken& t : added)
        if (t.content == text) return t.id;
      auto it = model["vocab"].find(text);
      return it != model["vocab"].end() ? it->get<int32_t>() : -1;
    };
    SpecialIds sp;
    sp.bos = id_of(token_field(cfg, "bos_token"));
    sp.eos = id_of(token_field(cfg, "eos_token"));
    sp.unk = id_of(token_field(cfg, "unk_token"));
    sp.pad = id_of(token_field(cfg, "pad_token"));
    sp.chat_template = chat_template_field(cfg);
    // add_bos_token when the config says; otherwise whether the post-processor template starts
    // with a special token (Meta's Llama-3 tokenizer.json adds <|begin_of_text|> that way).
    if (cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean()) {
      sp.add_bos = cfg["add_bos_token"].get<bool>();
    } else if (tj.contains("post_processor") && tj["post_processor"].is_object()) {
      const json& pp = tj["post_processor"];
      const json* tp = pp.value("type", "") == "TemplateProcessing" ? &pp : nullptr;
      if (!tp && pp.value("type", "") == "Sequence" && pp.contains("processors"))
        for (const json& p : pp["processors"])
          if (p.value("type", "") == "TemplateProcessing") tp = &p;
      if (tp && tp->contains("single") && (*tp)["single"].is_array() && !(*tp)["single"].empty() &&
          (*tp)["single"][0].contains("SpecialToken")) {
        const std::string first = (*tp)["single"][0]["SpecialToken"].value("id", "");
        if (sp.bos < 0) sp.bos = id_of(first);
        sp.add_bos = sp.bos >= 0 && id_of(first) == sp.bos;
      }
    }

    Normalizer norm;
    parse_normalizer(tj.contains("normalizer") ? tj["normalizer"] : json(), src, norm);
    const bool byte_fallback = model.value("byte_fallback", false);

    if (byte_fallback || norm.spm_spaces) {
      // SentencePiece converted to HF BPE. Merge ranks become scores: the piece made by merge r
      // scores -r, so merging by score replays the merges in rank order. Multi-character pieces
      // that no merge produces can never be formed by HF's BPE, so they do not take part.
      SPARKV_CHECK(norm.spm_spaces, "{}: byte_fallback BPE without the ▁ normalizer is not supported",
                   src);
      SpmVocab v;
      v.source = src;
      v.add_space_prefix = norm.spm_prefix;
      v.scores.assign(n, 0.0f);
      std::vector<bool> made(n, false);
      std::unordered_map<std::string, int32_t> lookup;
      for (int64_t i = 0; i < n; ++i) lookup.emplace(tokens[i], static_cast<int32_t>(i));
      for (size_t r = 0; r < merges.size(); ++r) {
        auto it = lookup.find(merges[r].first + merges[r].second);
        SPARKV_CHECK(it != lookup.end(), "{}: merge {} '{} {}' makes a token not in the vocabulary",
                     src, r, merges[r].first, merges[r].second);
        if (!made[it->second]) v.scores[it->second] = -static_cast<float>(r);
        made[it->second] = true;
      }
      for (int64_t i = 0; i < n; ++i) {
        if (types[i] != kTokenNormal) continue;
        size_t chars = 0;
        for (unsigned char c : tokens[i]) chars += (c & 0xC0) != 0x80;
        if (tokens[i].size() == 6 && tokens[i].rfind("<0x", 0) == 0) types[i] = kTokenByte;
        else if (chars > 1 && !made[i]) types[i] = kTokenUnused;
      }
      sp.kind = "llama";
      v.special = sp;
      v.tokens = std::move(tokens);
      v.token_types = std::move(types);
      v.added = std::move(added);
      return std::make_unique<SpmTokenizer>(std::move(v));
    }

    BpeVocab v;
    v.source = src;
    v.split_pattern = parse_pre_tokenizer(tj.contains("pre_tokenizer") ? tj["pre_tokenizer"] : json(), src);
    SPARKV_CHECK(!v.split_pattern.empty(), "{}: the pre_tokenizer has no split regex", src);
    v.nfc = norm.nfc;
    SPARKV_CHECK(!norm.spm_prefix, "{}: a ▁ Prepend normalizer on a byte-level BPE is not supported",
                 src);
    v.ignore_merges = model.value("ignore_merges", false);
    sp.kind = "gpt2";
    sp.pre = v.split_pattern == kLlama3SplitPattern  ? "llama3"
             : v.split_pattern == kQwen2SplitPattern ? "qwen2"
             : v.split_pattern == kGpt2SplitPattern  ? "gpt-2"
                                                     : "custom";
    v.special = sp;
    v.tokens = std::move(tokens);
    v.token_types = std::move(types);
    v.merges = std::move(merges);
    v.added = std::move(added);
    return std::make_unique<BpeTokenizer>(std::move(v));
  } catch (const json::exception& e) {
    fail("{}: unexpected structure: {}", src, e.what());
  }
}

}  // namespace sparkv
